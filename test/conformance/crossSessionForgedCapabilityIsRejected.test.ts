import { expect } from 'vitest';
import { SessionBindingMismatchError, SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, expectTypedError, minimalState, stateCommit } from './support.js';

// Twin of cross_session_forged_capability_is_rejected (seed 003): same owner, same generation, wrong session.
conformance('crossSessionForgedCapabilityIsRejected', async (store) => {
  const a = await claimLeaseForTest(store, 'session-a', 'owner-a');
  const b = await claimLeaseForTest(store, 'session-b', 'owner-a');
  expect(a.fencingToken).toBe(b.fencingToken);

  // B's capability relabelled as A's: the right shape, the wrong session.
  const forged = { ...leaseFence(b), sessionId: 'session-a' };
  await expectTypedError(store.leases.renew(forged, TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(
    store.queue.claimReady({ sessionId: 'session-a', fence: forged, owner: b.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  await expectTypedError(store.sessions.commit({ ...stateCommit('session-a', minimalState()), leaseFence: forged }), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  // B's own fence presented for A's commit is a binding mismatch.
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('session-a', minimalState()), leaseFence: leaseFence(b) }),
    SessionBindingMismatchError,
    'SESSION_BINDING_MISMATCH',
  );
  expect((await store.leases.renew(leaseFence(b), TEST_TTL_MS)).sessionId).toBe('session-b');
  expect((await store.leases.renew(leaseFence(a), TEST_TTL_MS)).sessionId).toBe('session-a');
});
