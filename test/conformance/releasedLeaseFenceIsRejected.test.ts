import { SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, expectTypedError } from './support.js';

// Twin of ending_session_releases_owner_record (seed 003): a released lease's fence is rejected.
conformance('releasedLeaseFenceIsRejected', async (store) => {
  const lease = await claimLeaseForTest(store, 'ending', 'owner-a');
  await store.leases.release(leaseCompletion(lease));
  await expectTypedError(store.leases.renew(leaseFence(lease), TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
});
