import { expect } from 'vitest';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { INTERRUPTED_TURN } from '../../src/store/reasons.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, testOwner } from './support.js';

const TTL_MS = 1_000;

// Beyond the seed. The worker runs a batch whose last turn died with its worker alone in its
// process (src/runtime/isolation.ts); the claim is where it learns that, so every claim, and a
// renewal of it, hands out each batch's attempts and last error as they are at the claim.
conformance('claimedBatchesCarryTheirFailures', async (store) => {
  const batch = await store.queue.enqueue(turnInputDraft('s', 'x', 'after_current_turn_commit', 'exclusive'));
  const claimAs = async (ownerId: string) => {
    const owner = testOwner(ownerId);
    const lease = await claimLeaseForTest(store, 's', owner, TTL_MS);
    const claim = await store.queue.claimReady({ sessionId: 's', fence: leaseFence(lease), owner, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1 });
    return { lease, claim: claim! };
  };

  const fresh = await claimAs('a');
  expect(fresh.claim.batches.map((b) => [b.batchId, b.attempts, b.lastError])).toEqual([[batch.batchId, 0, null]]);

  // A thrown turn: the abandon counts it, and the next claim says so.
  await store.queue.abandonClaim(fresh.claim, { reason: 'Error: boom', maxAttempts: 5 });
  await store.leases.release(leaseFence(fresh.lease));
  const failed = await claimAs('b');
  expect(failed.claim.batches.map((b) => [b.attempts, b.lastError])).toEqual([[1, 'Error: boom']]);

  // The holder, running the turn alone, dies mid-turn: the takeover counts an interruption, the
  // successor's claim shows it.
  expect(await store.queue.markClaimAlone(failed.claim)).toBe(true);
  store.clock.advance(TTL_MS);
  const interrupted = await claimAs('c');
  expect(interrupted.claim.batches.map((b) => [b.attempts, b.lastError])).toEqual([[2, INTERRUPTED_TURN]]);
  const renewed = await store.queue.renewClaim(interrupted.claim, TTL_MS);
  expect(renewed.batches.map((b) => [b.attempts, b.lastError])).toEqual([[2, INTERRUPTED_TURN]]);

  // A claim given up without a failure counts nothing and keeps the last error.
  await store.queue.abandonClaim(interrupted.claim);
  const kept = await store.queue.claimByBatchIds({
    sessionId: 's',
    fence: leaseFence(interrupted.lease),
    owner: testOwner('c'),
    boundary: 'idle',
    ttlMs: TTL_MS,
    batchIds: [batch.batchId],
  });
  expect(kept!.batches.map((b) => [b.attempts, b.lastError])).toEqual([[2, INTERRUPTED_TURN]]);
});
