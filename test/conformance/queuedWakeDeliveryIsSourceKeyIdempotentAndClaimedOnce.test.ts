import { expect } from 'vitest';
import { leaseFence, processWakeDraft, queueClaimCompletion } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, sampleWake, stateCommit, TEST_TTL_MS, underLease } from './support.js';

// Twin of queued_wake_delivery_is_source_key_idempotent_and_claimed_once.
conformance('queuedWakeDeliveryIsSourceKeyIdempotentAndClaimedOnce', async (store) => {
  const wake = sampleWake();
  const first = await store.queue.enqueue(processWakeDraft(wake));
  expect(first.sourceKey).toBe('process:process-1:event:7:wake');
  const replay = await store.queue.enqueue(processWakeDraft(wake));
  expect(replay.batchId).toBe(first.batchId);
  expect(await store.queue.list('root')).toHaveLength(1);

  const lease = await claimLeaseForTest(store, 'root', 'wake-owner');
  const claim = await store.queue.claimReady({
    sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10,
  });
  expect(claim!.batches).toHaveLength(1);
  expect(claim!.batches[0]!.items).toHaveLength(1);
  expect(claim!.batches[0]!.items[0]!.payload).toEqual({ type: 'process_wake', wake });

  // While claimed it is not claimed again.
  expect(await store.queue.claimReady({
    sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10,
  })).toBeNull();

  await store.sessions.commit(underLease({ ...stateCommit('root'), completedQueueClaims: [queueClaimCompletion(claim!)] }, lease));
  // The completed wake is removed exactly once, and a late replay of it enqueues nothing.
  expect(await store.queue.list('root')).toEqual([]);
  const lateReplay = await store.queue.enqueue(processWakeDraft(wake));
  expect(lateReplay.batchId).toBe(first.batchId);
  expect(lateReplay.status).toBe('completed');
  expect(batchIds(await store.queue.list('root'))).toEqual([]);
});
