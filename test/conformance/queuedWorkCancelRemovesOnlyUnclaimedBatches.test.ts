import { expect } from 'vitest';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, batchText, claimReadyForTest } from './support.js';

// Twin of queued_work_cancel_removes_only_unclaimed_batches.
conformance('queuedWorkCancelRemovesOnlyUnclaimedBatches', async (store) => {
  const cancellable = await store.queue.enqueue(turnInputDraft('root', 'cancel me', 'after_current_turn_commit', 'exclusive'));
  // Cancel is per session: another session's id does not reach this batch.
  expect(await store.queue.cancel('other', cancellable.batchId)).toBeNull();
  const cancelled = await store.queue.cancel('root', cancellable.batchId);
  expect(cancelled).not.toBeNull();
  expect(cancelled!.batchId).toBe(cancellable.batchId);
  expect(cancelled!.status).toBe('cancelled');
  expect(batchText(cancelled!)).toBe('cancel me');
  expect(await store.queue.list('root')).toEqual([]);
  expect(await store.queue.cancel('root', cancellable.batchId)).toBeNull();
  expect(await store.queue.cancel('root', 'no-such-batch')).toBeNull();

  const claimed = await store.queue.enqueue(turnInputDraft('root', 'claimed', 'after_current_turn_commit', 'exclusive'));
  const claim = await claimReadyForTest(store, 'root', 'owner', { maxBatches: 1 });
  expect(claim).not.toBeNull();
  expect(claim!.batches[0]!.batchId).toBe(claimed.batchId);
  // Active claims disappear from user-editable snapshots but stay durable until completed.
  expect(await store.queue.listPending('root')).toEqual([]);
  expect(batchIds(await store.queue.list('root'))).toEqual([claimed.batchId]);
  expect(await store.queue.cancel('root', claimed.batchId)).toBeNull();
  expect(batchIds(await store.queue.list('root'))).toEqual([claimed.batchId]);

  await store.queue.abandonClaim(claim!);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([claimed.batchId]);
  const cancelledAfterAbandon = await store.queue.cancel('root', claimed.batchId);
  expect(cancelledAfterAbandon?.batchId).toBe(claimed.batchId);
  expect(await store.queue.list('root')).toEqual([]);

  // A batch whose claim expired can be cancelled too.
  const expiring = await store.queue.enqueue(turnInputDraft('root', 'expiring', 'after_current_turn_commit', 'exclusive'));
  const expiredClaim = await claimReadyForTest(store, 'root', 'owner', { ttlMs: 0, maxBatches: 1 });
  expect(expiredClaim!.batches[0]!.batchId).toBe(expiring.batchId);
  expect((await store.queue.cancel('root', expiring.batchId))?.batchId).toBe(expiring.batchId);
  expect(await store.queue.list('root')).toEqual([]);
});
