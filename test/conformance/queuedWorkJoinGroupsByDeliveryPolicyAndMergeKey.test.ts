import { expect } from 'vitest';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimReadyForTest } from './support.js';

const grouped = (draft: QueuedWorkBatchDraft, key: string): QueuedWorkBatchDraft => ({ ...draft, mergeKey: { kind: 'group', key } });

// Twin of queued_work_join_groups_by_delivery_policy_and_merge_key.
conformance('queuedWorkJoinGroupsByDeliveryPolicyAndMergeKey', async (store) => {
  const first = await store.queue.enqueue(grouped(turnInputDraft('root', 'group a one', 'earliest_safe_boundary', 'join'), 'a'));
  const second = await store.queue.enqueue(grouped(turnInputDraft('root', 'group a two', 'earliest_safe_boundary', 'join'), 'a'));
  const differentMerge = await store.queue.enqueue(grouped(turnInputDraft('root', 'group b', 'earliest_safe_boundary', 'join'), 'b'));
  const differentDelivery = await store.queue.enqueue(grouped(turnInputDraft('root', 'after commit', 'after_current_turn_commit', 'join'), 'a'));
  expect(first.mergeKey).toEqual({ kind: 'group', key: 'a' });

  // Join claims group only adjacent batches with the same delivery policy and merge key.
  const firstClaim = await claimReadyForTest(store, 'root', 'owner-a');
  expect(batchIds(firstClaim!.batches)).toEqual([first.batchId, second.batchId]);
  const secondClaim = await claimReadyForTest(store, 'root', 'owner-b');
  expect(batchIds(secondClaim!.batches)).toEqual([differentMerge.batchId]);
  const thirdClaim = await claimReadyForTest(store, 'root', 'owner-c');
  expect(batchIds(thirdClaim!.batches)).toEqual([differentDelivery.batchId]);
  expect(await claimReadyForTest(store, 'root', 'owner-d')).toBeNull();

  // A `never` merge key joins nothing, even between join batches.
  const neverOne = await store.queue.enqueue(turnInputDraft('never', 'one', 'earliest_safe_boundary', 'join'));
  const neverTwo = await store.queue.enqueue(turnInputDraft('never', 'two', 'earliest_safe_boundary', 'join'));
  expect(batchIds((await claimReadyForTest(store, 'never', 'owner'))!.batches)).toEqual([neverOne.batchId]);
  expect(batchIds((await claimReadyForTest(store, 'never', 'owner'))!.batches)).toEqual([neverTwo.batchId]);

  // An exclusive batch stops a join group, and a join group resumes after it only as a new claim.
  const g1 = await store.queue.enqueue(grouped(turnInputDraft('mixed', 'g1', 'earliest_safe_boundary', 'join'), 'g'));
  const ex = await store.queue.enqueue(grouped(turnInputDraft('mixed', 'ex', 'earliest_safe_boundary', 'exclusive'), 'g'));
  const g2 = await store.queue.enqueue(grouped(turnInputDraft('mixed', 'g2', 'earliest_safe_boundary', 'join'), 'g'));
  expect(batchIds((await claimReadyForTest(store, 'mixed', 'owner'))!.batches)).toEqual([g1.batchId]);
  expect(batchIds((await claimReadyForTest(store, 'mixed', 'owner'))!.batches)).toEqual([ex.batchId]);
  expect(batchIds((await claimReadyForTest(store, 'mixed', 'owner'))!.batches)).toEqual([g2.batchId]);

  // At a checkpoint, a join group of earliest-safe-boundary work is delivered together.
  const c1 = await store.queue.enqueue(grouped(turnInputDraft('checkpoint', 'c1', 'earliest_safe_boundary', 'join'), 'c'));
  const c2 = await store.queue.enqueue(grouped(turnInputDraft('checkpoint', 'c2', 'earliest_safe_boundary', 'join'), 'c'));
  const c3 = await store.queue.enqueue(grouped(turnInputDraft('checkpoint', 'c3', 'after_current_turn_commit', 'join'), 'c'));
  expect(batchIds((await claimReadyForTest(store, 'checkpoint', 'owner', { boundary: 'active_turn_checkpoint' }))!.batches)).toEqual([c1.batchId, c2.batchId]);
  expect(await claimReadyForTest(store, 'checkpoint', 'owner', { boundary: 'active_turn_checkpoint' })).toBeNull();
  expect(batchIds((await claimReadyForTest(store, 'checkpoint', 'owner'))!.batches)).toEqual([c3.batchId]);
});
