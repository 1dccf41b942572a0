import { expect } from 'vitest';
import type { SessionMeta } from '../../src/store/contract.js';
import { turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { durableConformance } from './harness.js';
import { batchText, claimLeaseForTest, commitForTest, minimalState, stateCommit, TEST_TTL_MS, testOwner } from './support.js';

// Twin of runtime_persistence_survives_reopen (the reopen half; the first-claim race is its own scenario).
durableConformance('survivesReopen', async (store, ctx) => {
  const meta: SessionMeta = {
    sessionId: 'root',
    sessionName: 'Durable Root',
    createdAt: Date.UTC(2026, 5, 2),
    model: 'gpt-5.4-mini',
    cwd: '/tmp/lash-reopen',
    relation: { kind: 'root' },
  };
  await store.sessions.saveMeta(meta);
  await commitForTest(store, stateCommit('root', minimalState({ checkpoint: { turnIndex: 0, toolStateGeneration: 77 } })), 'reopen');
  const queued = await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'survives reopen', 'earliest_safe_boundary', 'exclusive'), 'reopen:queued'));
  await store.attachments.recordIntent({ sessionId: 'root', attachmentId: 'reopen-attachment', canonicalUri: 'sha256:reopen-attachment', intentAtMs: 100 });
  const held = await claimLeaseForTest(store, 'held', 'holder');

  const reopened = await ctx.open();
  expect((await reopened.sessions.loadMeta('root'))!.sessionName).toBe(meta.sessionName);
  expect(await reopened.sessions.loadMeta('root')).toEqual(meta);
  const state = await reopened.sessions.load('root', { kind: 'full_graph' });
  expect(state!.sessionId).toBe('root');
  expect(state!.headRevision).toBe(1);
  expect(state!.checkpoint?.toolStateGeneration).toBe(77);
  const queue = await reopened.queue.list('root');
  expect(queue).toHaveLength(1);
  expect(queue[0]!.batchId).toBe(queued.batchId);
  expect(batchText(queue[0]!)).toBe('survives reopen');
  expect(queue[0]).toEqual(queued);
  // The source key is remembered across the reopen.
  const replay = await reopened.queue.enqueue(withSourceKey(turnInputDraft('root', 'again', 'earliest_safe_boundary', 'exclusive'), 'reopen:queued'));
  expect(replay.batchId).toBe(queued.batchId);
  const intents = await reopened.attachments.listUncommitted(200);
  expect(intents.some((intent) => intent.attachmentId === 'reopen-attachment' && intent.sessionId === 'root')).toBe(true);
  // A lease taken before the reopen is still held, with its fencing token.
  const busy = await reopened.leases.tryClaim('held', testOwner('other'), TEST_TTL_MS);
  expect(busy.kind).toBe('busy');
  if (busy.kind === 'busy') expect(busy.holder.fencingToken).toBe(held.fencingToken);
});
