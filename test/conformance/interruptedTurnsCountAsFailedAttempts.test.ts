import { expect } from 'vitest';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { INTERRUPTED_TURN } from '../../src/store/reasons.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, testOwner } from './support.js';

const TTL_MS = 1_000;

// Beyond the seed. A turn that kills its worker never throws, so only the takeover can tell it
// failed: each claim marked alone (its turn ran with no other claim in its process) that dies with
// its holder's takeover counts an attempt on its batches, and a claimReady given maxAttempts
// dead-letters the exhausted ones (with their last error) before it selects, so the session moves
// on instead of crash-looping forever. (Unmarked claims: takeoverChargesOnlyClaimsMarkedAlone.)
conformance('interruptedTurnsCountAsFailedAttempts', async (store) => {
  const poison = await store.queue.enqueue(turnInputDraft('root', 'kills its worker', 'after_current_turn_commit', 'exclusive'));
  const next = await store.queue.enqueue(turnInputDraft('root', 'fine', 'after_current_turn_commit', 'exclusive'));

  for (let attempt = 1; attempt <= 2; attempt++) {
    const owner = testOwner(`crashing-${attempt}`);
    const lease = await claimLeaseForTest(store, 'root', owner, TTL_MS);
    const claim = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(lease), owner, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
    expect(batchIds(claim!.batches)).toEqual([poison.batchId]);
    expect(await store.queue.markClaimAlone(claim!)).toBe(true);
    // The worker dies: nobody abandons the claim or releases the lease.
    store.clock.advance(TTL_MS);
  }

  // The third holder's takeover counts the second interruption; its claim retires the batch.
  const owner = testOwner('survivor');
  const lease = await claimLeaseForTest(store, 'root', owner, TTL_MS);
  const claim = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(lease), owner, boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 2 });
  expect(batchIds(claim!.batches)).toEqual([next.batchId]);
  const letters = await store.queue.listDeadLetters('root');
  expect(letters.map((l) => [l.batchId, l.attempts, l.reason])).toEqual([[poison.batchId, 2, INTERRUPTED_TURN]]);

  // Without maxAttempts nothing is retired, and a clean release counts nothing.
  const other = await store.queue.enqueue(turnInputDraft('clean', 'x', 'after_current_turn_commit', 'exclusive'));
  const a = await claimLeaseForTest(store, 'clean', testOwner('a'), TTL_MS);
  await store.queue.claimReady({ sessionId: 'clean', fence: leaseFence(a), owner: testOwner('a'), boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1 });
  await store.leases.release(leaseFence(a));
  store.clock.advance(TTL_MS);
  const b = await claimLeaseForTest(store, 'clean', testOwner('b'), TTL_MS);
  const again = await store.queue.claimReady({ sessionId: 'clean', fence: leaseFence(b), owner: testOwner('b'), boundary: 'idle', ttlMs: TTL_MS, maxBatches: 1, maxAttempts: 1 });
  expect(batchIds(again!.batches)).toEqual([other.batchId]);
});
