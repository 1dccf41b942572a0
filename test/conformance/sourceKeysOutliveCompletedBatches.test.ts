import { expect } from 'vitest';
import type { QueuedWorkBatch } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, batchText, claimLeaseForTest, stateCommit, TEST_TTL_MS, underLease } from './support.js';

const RETENTION_MS = 60_000;

const keyed = (text: string, sourceKey: string) => withSourceKey(turnInputDraft('root', text, 'earliest_safe_boundary', 'exclusive'), sourceKey);

// Source keys outlive their batch: completed, cancelled and dead-lettered batches replay with their
// terminal status within the retention window; after it a replay enqueues anew.
conformance('sourceKeysOutliveCompletedBatches', async (store) => {
  const completed = await store.queue.enqueue(keyed('completed', 'key:completed'));
  const cancelled = await store.queue.enqueue(keyed('cancelled', 'key:cancelled'));
  const deadLettered = await store.queue.enqueue(keyed('dead', 'key:dead'));

  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const claim = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(claim!.batches)).toEqual([completed.batchId]);
  await store.sessions.commit(underLease({ ...stateCommit('root'), completedQueueClaims: [queueClaimCompletion(claim!)] }, lease));
  expect((await store.queue.cancel('root', cancelled.batchId))?.status).toBe('cancelled');
  expect((await store.queue.deadLetter('root', deadLettered.batchId, 'poison'))?.batchId).toBe(deadLettered.batchId);
  expect(await store.queue.list('root')).toEqual([]);

  const expectTerminalReplay = async (original: QueuedWorkBatch, status: QueuedWorkBatch['status']) => {
    const replay = await store.queue.enqueue(keyed('a different payload', original.sourceKey!));
    expect(replay).toEqual({ ...original, status });
    expect(batchText(replay)).toBe(batchText(original));
  };
  const replayAll = async () => {
    await expectTerminalReplay(completed, 'completed');
    await expectTerminalReplay(cancelled, 'cancelled');
    await expectTerminalReplay(deadLettered, 'dead_lettered');
    // Nothing was enqueued by the replays.
    expect(await store.queue.list('root')).toEqual([]);
  };
  await replayAll();
  expect((await store.maintenance.vacuum()).removedSourceKeyCount).toBe(0);
  store.clock.advance(RETENTION_MS / 2);
  await replayAll();

  // Past the window, vacuum forgets them (and reports only what this call removed).
  store.clock.advance(RETENTION_MS / 2 + 1);
  expect((await store.maintenance.vacuum()).removedSourceKeyCount).toBe(3);
  expect((await store.maintenance.vacuum()).removedSourceKeyCount).toBe(0);

  const anew = await store.queue.enqueue(keyed('anew', 'key:completed'));
  expect(anew.status).toBe('queued');
  expect(anew.batchId).not.toBe(completed.batchId);
  expect(anew.enqueueSeq).toBeGreaterThan(deadLettered.enqueueSeq);
  expect(batchText(anew)).toBe('anew');
  expect(batchIds(await store.queue.list('root'))).toEqual([anew.batchId]);
  // The new batch owns the key now.
  expect((await store.queue.enqueue(keyed('replay of anew', 'key:completed'))).batchId).toBe(anew.batchId);

  // An expired memory counts as absent even before vacuum removes it.
  const late = await store.queue.enqueue(keyed('late', 'key:late'));
  expect((await store.queue.cancel('root', late.batchId))?.status).toBe('cancelled');
  expect((await store.queue.enqueue(keyed('late replay', 'key:late'))).status).toBe('cancelled');
  store.clock.advance(RETENTION_MS + 1);
  const lateAnew = await store.queue.enqueue(keyed('late anew', 'key:late'));
  expect(lateAnew.status).toBe('queued');
  expect(lateAnew.batchId).not.toBe(late.batchId);
  expect(batchIds(await store.queue.list('root'))).toEqual([anew.batchId, lateAnew.batchId]);
}, { sourceKeyRetentionMs: RETENTION_MS });
