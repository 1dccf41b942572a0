import { expect } from 'vitest';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimReadyForTest } from './support.js';

const grouped = (draft: QueuedWorkBatchDraft, key: string): QueuedWorkBatchDraft => ({ ...draft, mergeKey: { kind: 'group', key } });

// Twin of queued_work_respects_availability_limits_exclusivity_reclaim_and_sessions.
conformance('queuedWorkRespectsAvailabilityLimitsExclusivityReclaimAndSessions', async (store) => {
  // A day ahead: far enough never to become ready in this scenario, within limits.maxDelayMs.
  const notReadyAt = (await store.clock.nowMs()) + 86_400_000;
  const notReady = await store.queue.enqueue({ ...turnInputDraft('root', 'not ready', 'earliest_safe_boundary', 'exclusive'), availableAtMs: notReadyAt });
  expect(notReady.availableAtMs).toBe(notReadyAt);
  const exclusive = await store.queue.enqueue(turnInputDraft('root', 'exclusive', 'earliest_safe_boundary', 'exclusive'));
  const joined = await store.queue.enqueue(grouped(turnInputDraft('root', 'joined', 'earliest_safe_boundary', 'join'), 'root'));
  const other = await store.queue.enqueue(turnInputDraft('other', 'other session', 'earliest_safe_boundary', 'exclusive'));

  // maxBatches 0 claims nothing.
  expect(await claimReadyForTest(store, 'root', 'owner-a', { maxBatches: 0 })).toBeNull();

  // An exclusive batch claims alone and unavailable earlier work is skipped.
  const claim = await claimReadyForTest(store, 'root', 'owner-a');
  expect(batchIds(claim!.batches)).toEqual([exclusive.batchId]);
  const nextRoot = await claimReadyForTest(store, 'root', 'owner-b');
  expect(nextRoot!.batches[0]!.batchId).toBe(joined.batchId);
  expect(batchIds(nextRoot!.batches)).toEqual([joined.batchId]);
  // Only the unavailable batch is left, and it is never claimed before its time.
  expect(await claimReadyForTest(store, 'root', 'owner-b')).toBeNull();
  expect(batchIds(await store.queue.listPending('root'))).toEqual([notReady.batchId]);
  expect(batchIds(await store.queue.list('root'))).toEqual([notReady.batchId, exclusive.batchId, joined.batchId]);

  // Claiming one session never consumes another session's work.
  const otherClaim = await claimReadyForTest(store, 'other', 'owner-c');
  expect(otherClaim!.batches[0]!.batchId).toBe(other.batchId);
  expect(otherClaim!.sessionId).toBe('other');

  // Re-claiming work whose claim expired bumps the claim fencing token.
  const reclaimedSource = await store.queue.enqueue(turnInputDraft('reclaim', 'expired claim', 'earliest_safe_boundary', 'exclusive'));
  const expired = await claimReadyForTest(store, 'reclaim', 'owner-a', { ttlMs: 0, maxBatches: 1 });
  expect(expired!.batches[0]!.batchId).toBe(reclaimedSource.batchId);
  // An expired claim does not hold its batch.
  expect(batchIds(await store.queue.listPending('reclaim'))).toEqual([reclaimedSource.batchId]);
  const reclaimed = await claimReadyForTest(store, 'reclaim', 'owner-b', { maxBatches: 1 });
  expect(reclaimed!.batches[0]!.batchId).toBe(reclaimedSource.batchId);
  expect(reclaimed!.fencingToken).toBeGreaterThan(expired!.fencingToken);

  // maxBatches caps a join claim.
  const limitedFirst = await store.queue.enqueue(grouped(turnInputDraft('limited', 'one', 'earliest_safe_boundary', 'join'), 'limited'));
  const limitedSecond = await store.queue.enqueue(grouped(turnInputDraft('limited', 'two', 'earliest_safe_boundary', 'join'), 'limited'));
  const limitedThird = await store.queue.enqueue(grouped(turnInputDraft('limited', 'three', 'earliest_safe_boundary', 'join'), 'limited'));
  const limited = await claimReadyForTest(store, 'limited', 'owner', { maxBatches: 2 });
  expect(batchIds(limited!.batches)).toEqual([limitedFirst.batchId, limitedSecond.batchId]);
  const remaining = await claimReadyForTest(store, 'limited', 'owner-next', { maxBatches: 10 });
  expect(batchIds(remaining!.batches)).toEqual([limitedThird.batchId]);

  // Availability is decided by store time.
  const now = await store.clock.nowMs();
  const later = await store.queue.enqueue({ ...turnInputDraft('later', 'later', 'earliest_safe_boundary', 'exclusive'), availableAtMs: now + 30_000 });
  expect(await claimReadyForTest(store, 'later', 'owner')).toBeNull();
  store.clock.advance(30_001);
  const laterClaim = await claimReadyForTest(store, 'later', 'owner');
  expect(batchIds(laterClaim!.batches)).toEqual([later.batchId]);
});
