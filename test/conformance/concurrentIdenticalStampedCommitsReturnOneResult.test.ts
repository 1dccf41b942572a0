import { expect } from 'vitest';
import type { RuntimeStore } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, minimalState, stamped, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

// Identical stamped commits racing each other all return the one result; the turn lands once.
conformance('concurrentIdenticalStampedCommitsReturnOneResult', async (store, ctx) => {
  const handles = [store, store, store, await ctx.open(), await ctx.open(), await ctx.open()];
  // Several rounds, each on its own session, to give the race more than one chance.
  for (let round = 0; round < 5; round++) await stampRound(store, handles, `root-${round}`);
});

async function stampRound(store: RuntimeStore, handles: RuntimeStore[], sessionId: string): Promise<void> {
  const input = await store.queue.enqueue(turnInputDraft(sessionId, 'input', 'earliest_safe_boundary', 'exclusive'));
  const lease = await claimLeaseForTest(store, sessionId, 'worker');
  const claim = await store.queue.claimReady({
    sessionId, fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1,
  });
  expect(batchIds(claim!.batches)).toEqual([input.batchId]);

  const commit = underLease(stamped({
    ...stateCommit(sessionId, minimalState({ checkpoint: { turnIndex: 1 } })),
    expectedHeadRevision: 0,
    completedQueueClaims: [queueClaimCompletion(claim!)],
    enqueueBatches: [withSourceKey(turnInputDraft(sessionId, 'follow-up', 'after_current_turn_commit', 'exclusive'), 'outbox:follow-up')],
    usageDeltas: [{ source: 'turn', model: 'm', usage: { inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } }],
  }, 'turn-1'), lease);

  const results = await Promise.all(handles.map((handle) => handle.sessions.commit(commit)));
  const first = results[0]!;
  expect(first.headRevision).toBe(1);
  expect(first.enqueuedBatches).toHaveLength(1);
  for (const result of results) expect(result).toEqual(first);

  const read = await store.sessions.load(sessionId, { kind: 'full_graph' });
  expect(read!.headRevision).toBe(1);
  expect(read!.usageLedger).toHaveLength(1);
  const queue = await store.queue.list(sessionId);
  expect(batchIds(queue)).toEqual([first.enqueuedBatches[0]!.batchId]);
  // The lease was released once, by the commit.
  expect((await store.leases.tryClaim(sessionId, testOwner('next'), TEST_TTL_MS)).kind).toBe('acquired');
}
