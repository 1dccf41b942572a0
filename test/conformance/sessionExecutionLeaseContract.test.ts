import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import {
  claimLeaseForTest,
  expectStrictlyIncreasing,
  expectTypedError,
  minimalState,
  releaseLeaseForTest,
  stamped,
  stateCommit,
  TEST_TTL_MS,
  testOwner,
  underLease,
} from './support.js';

// Twin of session_execution_lease_contract.
conformance('sessionExecutionLeaseContract', async (store) => {
  expect(await store.leases.get('root')).toBeNull();
  const ownerA = testOwner('owner-a');
  const first = await claimLeaseForTest(store, 'root', ownerA);
  expect(first.sessionId).toBe('root');
  expect(first.owner).toEqual(ownerA);
  expect(first.fencingToken).toBe(1);
  expect(first.expiresAtMs).toBeGreaterThan(first.claimedAtMs);
  expect((await store.leases.get('root'))?.fencingToken).toBe(first.fencingToken);
  // Tokens carry at least 128 bits (22 base64url or 32 hex characters) and are not UUIDs.
  expect(first.leaseToken.length).toBeGreaterThanOrEqual(22);
  expect(first.leaseToken).not.toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

  // The same owner and incarnation re-enters the live lease.
  const reentry = await store.leases.tryClaim('root', ownerA, 120_000);
  expect(reentry.kind).toBe('acquired');
  if (reentry.kind !== 'acquired') return;
  const reentered = reentry.lease;
  expect(reentered.leaseToken).toBe(first.leaseToken);
  expect(reentered.fencingToken).toBe(first.fencingToken);
  expect(reentered.claimedAtMs).toBe(first.claimedAtMs);
  expect(reentered.expiresAtMs).toBeGreaterThanOrEqual(first.expiresAtMs);

  // A live lease excludes concurrent owners.
  const busy = await store.leases.tryClaim('root', testOwner('owner-b'), TEST_TTL_MS);
  expect(busy.kind).toBe('busy');
  if (busy.kind === 'busy') {
    expect(busy.holder.owner).toEqual(ownerA);
    expect(busy.holder.fencingToken).toBe(first.fencingToken);
  }

  const renewed = await store.leases.renew(leaseFence(reentered), 120_000);
  expect(renewed.leaseToken).toBe(first.leaseToken);
  expect(renewed.fencingToken).toBe(first.fencingToken);
  expect(renewed.expiresAtMs).toBeGreaterThanOrEqual(reentered.expiresAtMs);

  const staleFence = { ...leaseFence(reentered), leaseToken: `${reentered.leaseToken}:stale` };
  await expectTypedError(store.leases.renew(staleFence, TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(
    store.leases.renew({ ...leaseFence(reentered), fencingToken: reentered.fencingToken + 1 }, TEST_TTL_MS),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );

  // A stale release is fenced and idempotent: it does not clear the live lease.
  await store.leases.release({ ...leaseCompletion(first), leaseToken: `${first.leaseToken}:stale` });
  expect((await store.leases.tryClaim('root', testOwner('owner-b'), TEST_TTL_MS)).kind).toBe('busy');

  await releaseLeaseForTest(store, renewed);
  const second = await claimLeaseForTest(store, 'root', 'owner-b');
  expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
  expect(second.leaseToken).not.toBe(first.leaseToken);

  // An old release never clears a newer lease.
  await store.leases.release(leaseCompletion(first));
  expect((await store.leases.tryClaim('root', testOwner('owner-c'), TEST_TTL_MS)).kind).toBe('busy');
  await releaseLeaseForTest(store, second);

  // A TTL of 0 is dead at once: the next claim takes over with a higher fencing token, and the
  // dead lease cannot be renewed back to life.
  const expired = await claimLeaseForTest(store, 'root', 'owner-expired', 0);
  await expectTypedError(store.leases.renew(leaseFence(expired), TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  const reclaimed = await claimLeaseForTest(store, 'root', 'owner-reclaim');
  expect(reclaimed.fencingToken).toBeGreaterThan(expired.fencingToken);
  await releaseLeaseForTest(store, reclaimed);

  // Session-head commits require a live lease and write nothing without one.
  const state = minimalState();
  await expectTypedError(store.sessions.commit(stateCommit('root', state)), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('root', state), leaseFence: leaseFence(reclaimed) }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();

  const commitLease = await claimLeaseForTest(store, 'root', 'commit-owner');
  const committed = await store.sessions.commit(underLease(stateCommit('root', state), commitLease));
  expect(committed.headRevision).toBe(1);
  // The commit released the lease.
  const afterCommit = await claimLeaseForTest(store, 'root', 'after-commit');
  await releaseLeaseForTest(store, afterCommit);

  const turnCommit = stamped(stateCommit('root', minimalState({ checkpoint: { turnIndex: 1 } })), 'lease-replay-turn');
  const turnLease = await claimLeaseForTest(store, 'root', 'turn-owner');
  const firstResult = await store.sessions.commit(underLease(turnCommit, turnLease));
  expect(firstResult.headRevision).toBe(2);
  // The idempotent replay returns without a live lease.
  const replay = await store.sessions.commit(turnCommit);
  expect(replay.headRevision).toBe(firstResult.headRevision);
  expect(replay.checkpointRef).toBe(firstResult.checkpointRef);

  // Queued-work claims require a live lease.
  const batch = await store.queue.enqueue(turnInputDraft('root', 'fenced queue', 'earliest_safe_boundary', 'exclusive'));
  const queueOwner = testOwner('queue-owner');
  await expectTypedError(
    store.queue.claimReady({ sessionId: 'root', fence: leaseFence(commitLease), owner: queueOwner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  const queueLease = await claimLeaseForTest(store, 'root', queueOwner);
  // A fence of this session does not authorize a claim in another session.
  await expectTypedError(
    store.queue.claimReady({ sessionId: 'other', fence: leaseFence(queueLease), owner: queueOwner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  const claim = await store.queue.claimReady({
    sessionId: 'root', fence: leaseFence(queueLease), owner: queueOwner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1,
  });
  expect(claim).not.toBeNull();
  expect(claim!.batches[0]!.batchId).toBe(batch.batchId);
  await releaseLeaseForTest(store, queueLease);

  // Every new holder got a higher fencing token than the one before.
  expectStrictlyIncreasing([
    first.fencingToken, second.fencingToken, expired.fencingToken, reclaimed.fencingToken,
    commitLease.fencingToken, afterCommit.fencingToken, turnLease.fencingToken, queueLease.fencingToken,
  ]);
  // A released lease stays on record with its fencing token and no token.
  const released = await store.leases.get('root');
  expect(released?.fencingToken).toBe(queueLease.fencingToken);
  expect(released?.leaseToken).toBe('');
});
