import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, expectTypedError, minimalState, stateCommit, testOwner } from './support.js';

// Twin of transfer_session_owner_is_atomic_and_invalidates_old_capability (seed 003).
conformance('transferInvalidatesTheOldCapability', async (store) => {
  const original = await claimLeaseForTest(store, 'moving', 'owner-a');
  const transferred = await store.leases.transfer(leaseFence(original), testOwner('owner-b'), TEST_TTL_MS);
  expect(transferred.owner.ownerId).toBe('owner-b');
  expect(transferred.fencingToken).toBe(original.fencingToken + 1);
  expect(transferred.leaseToken).not.toBe(original.leaseToken);
  expect(await store.leases.get('moving')).toEqual(transferred);

  await expectTypedError(store.leases.renew(leaseFence(original), TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  // The old capability can neither hand the session on again nor commit.
  await expectTypedError(store.leases.transfer(leaseFence(original), testOwner('owner-c'), TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('moving', minimalState()), leaseFence: leaseFence(original) }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  const result = await store.sessions.commit({ ...stateCommit('moving', minimalState()), leaseFence: leaseFence(transferred) });
  expect(result.headRevision).toBe(1);
});
