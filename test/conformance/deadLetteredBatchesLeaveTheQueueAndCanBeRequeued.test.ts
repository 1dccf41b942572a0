import { expect } from 'vitest';
import type { RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, TEST_TTL_MS } from './support.js';

function claimHead(store: RuntimeStore, lease: SessionLease) {
  return store.queue.claimReady({ sessionId: lease.sessionId, fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
}

// Dead letters: batches taken out of the queue with a reason, listed and requeued by operators.
conformance('deadLetteredBatchesLeaveTheQueueAndCanBeRequeued', async (store) => {
  const a = await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'poison', 'earliest_safe_boundary', 'exclusive'), 'dl:a'));
  const b = await store.queue.enqueue(turnInputDraft('root', 'flaky', 'earliest_safe_boundary', 'exclusive'));
  const c = await store.queue.enqueue(turnInputDraft('root', 'fine', 'earliest_safe_boundary', 'exclusive'));
  const elsewhere = await store.queue.enqueue(turnInputDraft('other', 'other session', 'earliest_safe_boundary', 'exclusive'));

  // Only a queued batch of that session can be dead-lettered.
  expect(await store.queue.deadLetter('other', a.batchId, 'wrong session')).toBeNull();
  expect(await store.queue.deadLetter('root', 'no-such-batch', 'missing')).toBeNull();

  const before = await store.clock.nowMs();
  const deadA = await store.queue.deadLetter('root', a.batchId, 'poison pill');
  expect(deadA).not.toBeNull();
  expect(deadA).toMatchObject({ batchId: a.batchId, sessionId: 'root', reason: 'poison pill', attempts: 0 });
  expect(deadA!.batch.batchId).toBe(a.batchId);
  expect(deadA!.batch.items).toEqual(a.items);
  expect(deadA!.deadLetteredAtMs).toBeGreaterThanOrEqual(before);
  expect(batchIds(await store.queue.list('root'))).toEqual([b.batchId, c.batchId]);
  expect(await store.queue.get(a.batchId)).toBeNull();
  expect(await store.queue.deadLetter('root', a.batchId, 'again')).toBeNull();
  expect((await store.queue.listDeadLetters('root')).map((d) => d.batchId)).toEqual([a.batchId]);

  // A held batch cannot be dead-lettered.
  const lease = await claimLeaseForTest(store, 'root', 'worker');
  const firstTry = await claimHead(store, lease);
  expect(batchIds(firstTry!.batches)).toEqual([b.batchId]);
  expect(await store.queue.deadLetter('root', b.batchId, 'held')).toBeNull();
  expect(batchIds(await store.queue.list('root'))).toEqual([b.batchId, c.batchId]);

  // Failed attempts are counted by abandonClaim; at maxAttempts the batch is dead-lettered.
  expect(await store.queue.abandonClaim(firstTry!, { reason: 'boom 1', maxAttempts: 2 })).toEqual([]);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([b.batchId, c.batchId]);
  const secondTry = await claimHead(store, lease);
  expect(batchIds(secondTry!.batches)).toEqual([b.batchId]);
  expect(secondTry!.fencingToken).toBeGreaterThan(firstTry!.fencingToken);
  const madeDead = await store.queue.abandonClaim(secondTry!, { reason: 'boom 2', maxAttempts: 2 });
  expect(madeDead).toHaveLength(1);
  expect(madeDead[0]).toMatchObject({ batchId: b.batchId, sessionId: 'root', reason: 'boom 2', attempts: 2 });
  expect(batchIds(await store.queue.list('root'))).toEqual([c.batchId]);

  // Abandoning without a failure counts nothing and dead-letters nothing.
  const plain = await claimHead(store, lease);
  expect(batchIds(plain!.batches)).toEqual([c.batchId]);
  expect(await store.queue.abandonClaim(plain!)).toEqual([]);
  expect(batchIds(await store.queue.list('root'))).toEqual([c.batchId]);

  const deadOther = await store.queue.deadLetter('other', elsewhere.batchId, 'other reason');
  expect(deadOther?.sessionId).toBe('other');
  expect((await store.queue.listDeadLetters('root')).map((d) => d.batchId)).toEqual([a.batchId, b.batchId]);
  expect((await store.queue.listDeadLetters('other')).map((d) => d.batchId)).toEqual([elsewhere.batchId]);
  expect((await store.queue.listDeadLetters()).map((d) => d.batchId).sort()).toEqual([a.batchId, b.batchId, elsewhere.batchId].sort());

  // Requeue goes to the tail with a new enqueueSeq, the same id, items and source key.
  const requeuedA = await store.queue.requeueDeadLetter(a.batchId);
  expect(requeuedA).not.toBeNull();
  expect(requeuedA).toMatchObject({ batchId: a.batchId, sessionId: 'root', sourceKey: 'dl:a', status: 'queued', items: a.items, deliveryPolicy: a.deliveryPolicy, slotPolicy: a.slotPolicy });
  expect(requeuedA!.enqueueSeq).toBeGreaterThan(c.enqueueSeq);
  expect(requeuedA!.enqueueSeq).toBeGreaterThan(elsewhere.enqueueSeq);
  expect(batchIds(await store.queue.list('root'))).toEqual([c.batchId, a.batchId]);
  expect((await store.queue.listDeadLetters('root')).map((d) => d.batchId)).toEqual([b.batchId]);
  expect(await store.queue.requeueDeadLetter(a.batchId)).toBeNull();
  expect(await store.queue.requeueDeadLetter('no-such-batch')).toBeNull();
  // The source key maps to the queued batch again.
  const replay = await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'replay', 'earliest_safe_boundary', 'exclusive'), 'dl:a'));
  expect(replay.batchId).toBe(a.batchId);
  expect(replay.status).toBe('queued');
  expect(replay.enqueueSeq).toBe(requeuedA!.enqueueSeq);

  // A requeued batch keeps its claim counter (later claims fence higher) and starts its attempts anew.
  const requeuedB = await store.queue.requeueDeadLetter(b.batchId);
  expect(batchIds(await store.queue.list('root'))).toEqual([c.batchId, a.batchId, b.batchId]);
  expect(requeuedB!.enqueueSeq).toBeGreaterThan(requeuedA!.enqueueSeq);
  for (const expected of [c.batchId, a.batchId]) {
    const claim = await claimHead(store, lease);
    expect(batchIds(claim!.batches)).toEqual([expected]);
  }
  const thirdTry = await claimHead(store, lease);
  expect(batchIds(thirdTry!.batches)).toEqual([b.batchId]);
  expect(thirdTry!.fencingToken).toBeGreaterThan(secondTry!.fencingToken);
  expect(await store.queue.abandonClaim(thirdTry!, { reason: 'boom 3', maxAttempts: 2 })).toEqual([]);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([b.batchId]);
});
