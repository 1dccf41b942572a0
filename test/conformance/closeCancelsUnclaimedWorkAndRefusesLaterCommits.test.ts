import { expect } from 'vitest';
import { AgentMismatchError, SensitivityExceededError, SessionClosedError, SessionExpiredError, SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { TEST_TTL_MS, claimLeaseForTest, expectTypedError, minimalState, stamped, stateCommit } from './support.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Addition (spec 04 "Rules"): close cancels unclaimed batches; a turn in flight cannot commit afterwards.
conformance('closeCancelsUnclaimedWorkAndRefusesLaterCommits', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ agentId: 'agent-a' }));
  const inFlight = await store.queue.enqueue(inputFor(sessionId, 'being worked on'));
  const waiting = await store.queue.enqueue(inputFor(sessionId, 'waiting', { sourceKey: 'k-waiting' }));
  const lease = await claimLeaseForTest(store, sessionId, 'worker');
  const fence = leaseFence(lease);
  const claim = await store.queue.claimReady({ sessionId, fence, owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(claim!.batches.map((b) => b.batchId)).toEqual([inFlight.batchId]);

  // An outbox draft from another agent or above the ceiling is refused while the session is open.
  const turn = { ...stateCommit(sessionId, minimalState()), leaseFence: fence, completedQueueClaims: [queueClaimCompletion(claim!)] };
  await expectTypedError(store.sessions.commit({ ...turn, enqueueBatches: [inputFor(sessionId, 'x', { agentId: 'agent-b' })] }), AgentMismatchError, 'AGENT_MISMATCH');
  await expectTypedError(
    store.sessions.commit({ ...turn, enqueueBatches: [inputFor(sessionId, 'x', { sensitivity: 'restricted' })] }),
    SensitivityExceededError,
    'SENSITIVITY_EXCEEDED',
  );

  const closed = await store.sessions.close(sessionId, { agentId: 'agent-a' });
  expect(closed.status).toBe('closed');
  // The unclaimed batch is cancelled (its source key remembers it so); the claimed one stays.
  expect((await store.queue.list(sessionId)).map((b) => b.batchId)).toEqual([inFlight.batchId]);
  expect(await store.queue.get(waiting.batchId)).toBeNull();

  // The turn's commit is refused after the fence check and writes nothing.
  const commit = stamped({ ...turn, enqueueBatches: [inputFor(sessionId, 'follow-up')] }, 'turn-after-close');
  await expectTypedError(store.sessions.commit(commit), SessionClosedError, 'SESSION_CLOSED');
  expect(await store.sessions.load(sessionId, { kind: 'full_graph' })).toBeNull();
  expect((await store.queue.list(sessionId)).map((b) => b.batchId)).toEqual([inFlight.batchId]);
  // Without a live fence the fence error comes first.
  await expectTypedError(store.sessions.commit({ ...commit, leaseFence: { ...fence, leaseToken: 'stale' } }), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');

  // Once the claim is abandoned, closing again cancels what is left.
  await store.queue.abandonClaim(claim!);
  await store.sessions.close(sessionId);
  expect(await store.queue.list(sessionId)).toEqual([]);

  // An expired session refuses commits too.
  const short = await store.sessions.create(taskRequest({ timeLimitMs: 500 }));
  const shortLease = await claimLeaseForTest(store, short.sessionId, 'worker');
  store.clock.advance(500);
  await expectTypedError(
    store.sessions.commit({ ...stateCommit(short.sessionId, minimalState()), leaseFence: leaseFence(shortLease) }),
    SessionExpiredError,
    'SESSION_EXPIRED',
  );
});
