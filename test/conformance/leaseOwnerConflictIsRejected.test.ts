import { expect } from 'vitest';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, testOwner } from './support.js';

// Twin of session_owner_conflict_is_rejected (seed 003): a second owner cannot take a live lease.
conformance('leaseOwnerConflictIsRejected', async (store) => {
  const lease = await claimLeaseForTest(store, 'owned', 'owner-a');
  const conflict = await store.leases.tryClaim('owned', testOwner('owner-b'), TEST_TTL_MS);
  expect(conflict.kind).toBe('busy');
  if (conflict.kind !== 'busy') return;
  expect(conflict.holder.owner.ownerId).toBe('owner-a');
  expect(conflict.holder.fencingToken).toBe(lease.fencingToken);
  // The same owner re-enters with the same capability.
  const again = await store.leases.tryClaim('owned', testOwner('owner-a'), TEST_TTL_MS);
  expect(again.kind === 'acquired' && again.lease.leaseToken).toBe(lease.leaseToken);
});
