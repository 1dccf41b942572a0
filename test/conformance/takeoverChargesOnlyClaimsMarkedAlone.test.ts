import { expect } from 'vitest';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { INTERRUPTED_TURN } from '../../src/store/reasons.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, testOwner } from './support.js';

const TTL_MS = 1_000;

// Beyond the seed (issue 13 item 5). A worker's death is charged to a batch only when its claim
// was marked alone (markClaimAlone: the holder ran that turn with no other claim in flight in its
// process). An unmarked claim that dies with its holder's takeover is marked interrupted (a
// suspect: INTERRUPTED_TURN) and counts nothing, however often it happens, so workers that keep
// dying for other reasons never dead-letter it.
conformance('takeoverChargesOnlyClaimsMarkedAlone', async (store) => {
  const innocent = await store.queue.enqueue(turnInputDraft('s', 'fine', 'after_current_turn_commit', 'exclusive'));

  for (let death = 1; death <= 4; death++) {
    const owner = testOwner(`dying-${death}`);
    const lease = await claimLeaseForTest(store, 's', owner, TTL_MS);
    const claim = await store.queue.claimReady({ sessionId: 's', fence: leaseFence(lease), owner, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
    expect(batchIds(claim!.batches)).toEqual([innocent.batchId]);
    // Every death before this one left the batch interrupted, never charged.
    expect(claim!.batches[0]!.attempts).toBe(0);
    expect(claim!.batches[0]!.lastError).toBe(death === 1 ? null : INTERRUPTED_TURN);
    store.clock.advance(TTL_MS);
  }

  // Marked alone, the next death is charged (once), and the mark does not outlive that takeover.
  const alone = testOwner('alone');
  const aloneLease = await claimLeaseForTest(store, 's', alone, TTL_MS);
  const aloneClaim = await store.queue.claimReady({ sessionId: 's', fence: leaseFence(aloneLease), owner: alone, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
  expect(await store.queue.markClaimAlone(aloneClaim!)).toBe(true);
  store.clock.advance(TTL_MS);
  const next = testOwner('next');
  const nextLease = await claimLeaseForTest(store, 's', next, TTL_MS);
  const nextClaim = await store.queue.claimReady({ sessionId: 's', fence: leaseFence(nextLease), owner: next, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
  expect(nextClaim!.batches.map((b) => [b.batchId, b.attempts, b.lastError])).toEqual([[innocent.batchId, 1, INTERRUPTED_TURN]]);
  store.clock.advance(TTL_MS);
  const last = testOwner('last');
  const lastLease = await claimLeaseForTest(store, 's', last, TTL_MS);
  const lastClaim = await store.queue.claimReady({ sessionId: 's', fence: leaseFence(lastLease), owner: last, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
  expect(lastClaim!.batches.map((b) => b.attempts)).toEqual([1]);
  expect(await store.queue.listDeadLetters('s')).toEqual([]);

  // Only a live claim that still holds every batch can be marked.
  await store.queue.abandonClaim(lastClaim!);
  expect(await store.queue.markClaimAlone(lastClaim!)).toBe(false);
  const again = await store.queue.claimByBatchIds({ sessionId: 's', fence: leaseFence(lastLease), owner: last, boundary: 'idle', ttlMs: TTL_MS, batchIds: [innocent.batchId] });
  store.clock.advance(TTL_MS);
  expect(await store.queue.markClaimAlone(again!)).toBe(false);
  await expect(store.queue.markClaimAlone({ ...again!, batches: [] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
});
