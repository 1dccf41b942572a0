import { expect } from 'vitest';
import { HeadRevisionConflictError } from '../../src/errors.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, commitForTest, minimalState, sampleNode, stateCommit } from './support.js';

const WRITERS = 6;

// Concurrent commits that all expect the same head revision: exactly one applies, the others are
// HeadRevisionConflictError and write nothing.
conformance('concurrentHeadRevisionCasAppliesExactlyOnce', async (store, ctx) => {
  const handles = [store, store, store, await ctx.open(), await ctx.open(), await ctx.open()];
  // Several rounds, each on its own session, to give the race more than one chance.
  for (let round = 0; round < 5; round++) await casRound(store, handles, `root-${round}`);
});

async function casRound(store: RuntimeStore, handles: RuntimeStore[], sessionId: string): Promise<void> {
  const root = sampleNode('root-node', null);
  await commitForTest(store, stateCommit(sessionId, minimalState({ graph: { kind: 'append', nodes: [root], leafNodeId: 'root-node' } })), 'setup');

  const lease = await claimLeaseForTest(store, sessionId, 'writer');
  const attempts = await Promise.allSettled(handles.slice(0, WRITERS).map((handle, i) => handle.sessions.commit({
    ...stateCommit(sessionId, minimalState({
      graph: { kind: 'append', nodes: [sampleNode(`node-${i}`, 'root-node')], leafNodeId: `node-${i}` },
      checkpoint: { turnIndex: 100 + i },
    })),
    expectedHeadRevision: 1,
    leaseFence: leaseFence(lease),
    usageDeltas: [{ source: `writer-${i}`, model: 'm', usage: { inputTokens: i, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 } }],
  })));

  const applied = attempts.flatMap((attempt, i) => (attempt.status === 'fulfilled' ? [{ i, result: attempt.value }] : []));
  expect(applied).toHaveLength(1);
  const winner = applied[0]!;
  expect(winner.result.headRevision).toBe(2);
  for (const attempt of attempts) {
    if (attempt.status === 'rejected') {
      expect(attempt.reason).toBeInstanceOf(HeadRevisionConflictError);
      expect((attempt.reason as HeadRevisionConflictError).code).toBe('HEAD_REVISION_CONFLICT');
      expect((attempt.reason as HeadRevisionConflictError).retryable).toBe(true);
    }
  }

  const read = await store.sessions.load(sessionId, { kind: 'full_graph' });
  expect(read!.headRevision).toBe(2);
  expect(read!.checkpoint!.turnIndex).toBe(100 + winner.i);
  expect(read!.graph.nodes.map((node) => node.nodeId)).toEqual(['root-node', `node-${winner.i}`]);
  expect(read!.usageLedger.map((entry) => entry.source)).toEqual([`writer-${winner.i}`]);

  // The losers' retry against the new head applies.
  const retry = await store.sessions.commit({ ...stateCommit(sessionId, minimalState({ checkpoint: { turnIndex: 200 } })), expectedHeadRevision: 2, leaseFence: leaseFence(lease) });
  expect(retry.headRevision).toBe(3);
}
