import { expect } from 'vitest';
import { QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, stateCommit, testOwner, underLease } from './support.js';

const TTL_MS = 10_000;

// Expiry is decided by store time: advancing the store clock past the TTL hands the lease and the
// claims to the next owner with higher fencing tokens, and the stale fence can no longer commit.
conformance('storeClockExpiryHandsLeaseAndClaimsToNextOwner', async (store) => {
  const batch = await store.queue.enqueue(turnInputDraft('root', 'work', 'earliest_safe_boundary', 'exclusive'));
  const ownerA = testOwner('owner-a');
  const ownerB = testOwner('owner-b');
  const leaseA = await claimLeaseForTest(store, 'root', ownerA, TTL_MS);
  const claimA = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseA), owner: ownerA, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1 });
  expect(batchIds(claimA!.batches)).toEqual([batch.batchId]);

  // Halfway through the TTL A still holds both.
  store.clock.advance(TTL_MS / 2);
  expect((await store.leases.tryClaim('root', ownerB, TTL_MS)).kind).toBe('busy');
  expect(await store.queue.listPending('root')).toEqual([]);

  // At the TTL (expiresAt > now is strict) both are dead.
  store.clock.advance(TTL_MS / 2);
  await expectTypedError(store.leases.renew(leaseFence(leaseA), TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(store.queue.renewClaim(claimA!, TTL_MS), QueuedWorkClaimExpiredError, 'QUEUED_WORK_CLAIM_EXPIRED');
  expect(batchIds(await store.queue.listPending('root'))).toEqual([batch.batchId]);

  const leaseB = await claimLeaseForTest(store, 'root', ownerB, TTL_MS);
  expect(leaseB.fencingToken).toBeGreaterThan(leaseA.fencingToken);
  const claimB = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseB), owner: ownerB, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1 });
  expect(batchIds(claimB!.batches)).toEqual([batch.batchId]);
  expect(claimB!.fencingToken).toBeGreaterThan(claimA!.fencingToken);

  // A's stale fence cannot claim or commit, with or without its old completion; nothing is written.
  await expectTypedError(
    store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseA), owner: ownerA, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1 }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  await expectTypedError(
    store.sessions.commit(underLease({ ...stateCommit('root'), completedQueueClaims: [queueClaimCompletion(claimA!)] }, leaseA)),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();
  expect(batchIds(await store.queue.list('root'))).toEqual([batch.batchId]);
  // A's late release does not clear B's lease.
  await store.leases.release(leaseCompletion(leaseA));
  expect((await store.leases.tryClaim('root', ownerA, TTL_MS)).kind).toBe('busy');

  // A's old claim completion cannot ride on B's fence either.
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('root'), leaseFence: leaseFence(leaseB), completedQueueClaims: [queueClaimCompletion(claimA!)] }),
    QueuedWorkClaimExpiredError,
    'QUEUED_WORK_CLAIM_EXPIRED',
  );

  // The successor commits.
  const result = await store.sessions.commit(underLease({ ...stateCommit('root'), completedQueueClaims: [queueClaimCompletion(claimB!)] }, leaseB));
  expect(result.headRevision).toBe(1);
  expect(await store.queue.list('root')).toEqual([]);
  expect((await store.leases.tryClaim('root', ownerA, TTL_MS)).kind).toBe('acquired');
});
