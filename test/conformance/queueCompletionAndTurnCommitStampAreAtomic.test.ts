import { expect } from 'vitest';
import { QueuedWorkClaimExpiredError } from '../../src/errors.js';
import { leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, minimalState, stamped, stateCommit, TEST_TTL_MS, underLease } from './support.js';

// Twin of queue_completion_and_turn_commit_stamp_are_atomic.
conformance('queueCompletionAndTurnCommitStampAreAtomic', async (store) => {
  const batch = await store.queue.enqueue(turnInputDraft('root', 'atomic queue', 'earliest_safe_boundary', 'exclusive'));
  const lease = await claimLeaseForTest(store, 'root', 'queue-owner');
  const claim = await store.queue.claimReady({
    sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1,
  });
  expect(claim!.batches[0]!.batchId).toBe(batch.batchId);

  const base = stateCommit('root', minimalState({ checkpoint: { turnIndex: 41 } }));
  const staleCompletion = { ...queueClaimCompletion(claim!), claimToken: `${claim!.claimToken}:stale` };
  await expectTypedError(
    store.sessions.commit(underLease(stamped({ ...base, completedQueueClaims: [staleCompletion] }, 'turn-atomic'), lease, false)),
    QueuedWorkClaimExpiredError,
    'QUEUED_WORK_CLAIM_EXPIRED',
  );
  // The rejected commit persisted no state, kept the queued work, and recorded no stamp.
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();
  expect(await store.queue.list('root')).toHaveLength(1);

  const finalCommit = stamped({ ...base, completedQueueClaims: [queueClaimCompletion(claim!)] }, 'turn-atomic');
  const first = await store.sessions.commit(underLease(finalCommit, lease));
  expect(first.headRevision).toBe(1);
  const retry = await store.sessions.commit(underLease(finalCommit, lease));
  expect(retry.headRevision).toBe(first.headRevision);
  expect(retry.checkpointRef).toBe(first.checkpointRef);
  expect(retry).toEqual(first);

  const read = await store.sessions.load('root', { kind: 'full_graph' });
  expect(read).not.toBeNull();
  expect(read!.headRevision).toBe(1);
  expect(read!.checkpoint!.turnIndex).toBe(41);
  expect(await store.queue.list('root')).toEqual([]);
});
