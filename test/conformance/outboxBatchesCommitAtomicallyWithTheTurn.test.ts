import { expect } from 'vitest';
import { HeadRevisionConflictError, QueuedWorkClaimExpiredError } from '../../src/errors.js';
import { leaseFence, queueClaimCompletion, turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, batchText, claimLeaseForTest, expectTypedError, stamped, stateCommit, TEST_TTL_MS } from './support.js';

// The transactional outbox: a turn commit's enqueueBatches land only when the commit does.
conformance('outboxBatchesCommitAtomicallyWithTheTurn', async (store) => {
  const existing = await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'already queued', 'after_current_turn_commit', 'exclusive'), 'out:existing'));
  const lease = await claimLeaseForTest(store, 'root', 'worker');
  const fence = leaseFence(lease);
  const outbox = [
    withSourceKey(turnInputDraft('root', 'follow-up a', 'after_current_turn_commit', 'exclusive'), 'out:a'),
    turnInputDraft('root', 'follow-up b', 'earliest_safe_boundary', 'join'),
    withSourceKey(turnInputDraft('root', 'a different payload', 'after_current_turn_commit', 'exclusive'), 'out:existing'),
  ];

  // A commit that fails its CAS enqueues nothing.
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('root'), expectedHeadRevision: 5, leaseFence: fence, enqueueBatches: outbox }),
    HeadRevisionConflictError,
    'HEAD_REVISION_CONFLICT',
  );
  expect(batchIds(await store.queue.list('root'))).toEqual([existing.batchId]);

  // A commit that fails its claim completion enqueues nothing.
  const claim = await store.queue.claimReady({ sessionId: 'root', fence, owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(claim!.batches)).toEqual([existing.batchId]);
  await expectTypedError(
    store.sessions.commit({
      ...stateCommit('root'),
      leaseFence: fence,
      completedQueueClaims: [{ ...queueClaimCompletion(claim!), claimToken: `${claim!.claimToken}:stale` }],
      enqueueBatches: outbox,
    }),
    QueuedWorkClaimExpiredError,
    'QUEUED_WORK_CLAIM_EXPIRED',
  );
  expect(batchIds(await store.queue.list('root'))).toEqual([existing.batchId]);
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();

  // The commit that succeeds returns the outbox batches, deduplicated by source key.
  await store.queue.abandonClaim(claim!);
  const commit = stamped({ ...stateCommit('root'), expectedHeadRevision: 0, enqueueBatches: outbox }, 'turn-outbox');
  const result = await store.sessions.commit({ ...commit, leaseFence: fence });
  expect(result.headRevision).toBe(1);
  expect(result.enqueuedBatches).toHaveLength(3);
  const [a, b, deduped] = result.enqueuedBatches;
  expect(a!.sourceKey).toBe('out:a');
  expect(batchText(a!)).toBe('follow-up a');
  expect(b!.sourceKey).toBeNull();
  expect(batchText(b!)).toBe('follow-up b');
  for (const batch of [a!, b!]) {
    expect(batch.sessionId).toBe('root');
    expect(batch.status).toBe('queued');
    expect(batch.enqueueSeq).toBeGreaterThan(existing.enqueueSeq);
  }
  expect(a!.enqueueSeq).toBeLessThan(b!.enqueueSeq);
  expect(deduped!.batchId).toBe(existing.batchId);
  expect(batchText(deduped!)).toBe('already queued');
  expect(batchIds(await store.queue.list('root'))).toEqual([existing.batchId, a!.batchId, b!.batchId]);
  expect(await store.queue.get(a!.batchId)).toEqual(a);

  // A stamp replay returns the same enqueuedBatches and enqueues nothing more.
  const replay = await store.sessions.commit(commit);
  expect(replay).toEqual(result);
  expect(batchIds(await store.queue.list('root'))).toEqual([existing.batchId, a!.batchId, b!.batchId]);
  // The outbox source key is remembered like any other.
  expect((await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'x', 'after_current_turn_commit', 'exclusive'), 'out:a'))).batchId).toBe(a!.batchId);
});
