import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, expectTypedError, minimalState, stateCommit } from './support.js';

// Twin of reclaiming_owner_invalidates_stale_capability_generation (seed 003): the fencing token is the generation.
conformance('staleGenerationAfterReclaimIsRejected', async (store) => {
  const first = await claimLeaseForTest(store, 'regen', 'owner-a');
  await store.leases.release(leaseCompletion(first));
  const second = await claimLeaseForTest(store, 'regen', 'owner-a');
  expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
  // The first generation's fence is refused everywhere a fence is presented.
  await expectTypedError(store.leases.renew(leaseFence(first), TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('regen', minimalState()), leaseFence: leaseFence(first) }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  // A fence carrying the new token but the old generation is refused too.
  await expectTypedError(store.leases.renew({ ...leaseFence(second), fencingToken: first.fencingToken }, TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  expect((await store.leases.renew(leaseFence(second), TEST_TTL_MS)).fencingToken).toBe(second.fencingToken);
});
