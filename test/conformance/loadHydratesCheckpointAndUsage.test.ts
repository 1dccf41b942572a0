import { expect } from 'vitest';
import type { TokenLedgerEntry } from '../../src/store/contract.js';
import { conformance } from './harness.js';
import { commitForTest, minimalState, stateCommit } from './support.js';

// Twin of load_hydrates_checkpoint_and_usage.
conformance('loadHydratesCheckpointAndUsage', async (store) => {
  const usage: TokenLedgerEntry = {
    source: 'turn',
    model: 'mock-model',
    usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 3, reasoningTokens: 5 },
  };
  const state = minimalState({
    checkpoint: { turnIndex: 0, toolStateGeneration: 9, pluginSnapshotRevision: 12, data: { plugins: {} } },
  });
  await commitForTest(store, stateCommit('hydrated', state, { usageDeltas: [usage] }), 'hydrate');

  const read = await store.sessions.load('hydrated', { kind: 'full_graph' });
  expect(read).not.toBeNull();
  expect(read!.sessionId).toBe('hydrated');
  const checkpoint = read!.checkpoint;
  expect(checkpoint).not.toBeNull();
  expect(checkpoint!.toolStateGeneration).toBe(9);
  expect(checkpoint!.pluginSnapshotRevision).toBe(12);
  expect(checkpoint!.data).toEqual({ plugins: {} });
  expect(read!.usageLedger).toHaveLength(1);
  expect(read!.usageLedger[0]!.usage.inputTokens).toBe(11);
  expect(read!.usageLedger[0]).toEqual(usage);

  // Usage deltas are appended to the ledger in order by later commits.
  const later: TokenLedgerEntry = {
    source: 'compaction',
    model: 'mock-model',
    usage: { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0 },
  };
  await commitForTest(store, stateCommit('hydrated', minimalState({ checkpoint: { turnIndex: 1 } }), { usageDeltas: [later] }), 'hydrate-2');
  const reread = await store.sessions.load('hydrated', { kind: 'full_graph' });
  expect(reread!.usageLedger).toEqual([usage, later]);
  expect(reread!.checkpoint!.turnIndex).toBe(1);

  // Another session is not hydrated from this one.
  expect(await store.sessions.load('never-committed', { kind: 'full_graph' })).toBeNull();
});
