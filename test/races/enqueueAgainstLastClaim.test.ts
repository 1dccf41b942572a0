/**
 * Enqueue against the holder's last claim-and-release, 1,000 trials. The holder runs claimNext
 * with releaseLeaseWhenEmpty while a producer enqueues a batch and its job tries the lease at once,
 * as a worker does. A job that finds the session held finishes without running anything, so the
 * holder must see the batch: either the job acquires the lease (the holder released first) or the
 * holder's claim takes the batch. Never: the job finds the session held and the holder releases
 * without the batch (it would wait for the reconciler).
 */
import { describe, expect, it } from 'vitest';
import { leaseFence } from '../../src/store/drafts.js';
import { owner, raceStores, textDraft } from './support.js';

const TRIALS = 1000;
const TTL = 3_600_000;
const fx = raceStores(3);

/** Yields to the event loop `n` times, to shift one racer against the other by a few microseconds. */
async function yieldTimes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('race: enqueue against the last claim-and-release', () => {
  it(`${TRIALS} trials: a job that finds the session held always leaves its batch to the holder`, async () => {
    const [holderStore, producerStore, jobStore] = fx.stores as [typeof fx.stores[0], typeof fx.stores[0], typeof fx.stores[0]];
    const holder = owner('holder');
    const job = owner('job');
    const outcomes = { holderTookIt: 0, jobAcquired: 0, stranded: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const s = `race-${trial}`;
      const acquired = await holderStore!.leases.tryClaim(s, holder, TTL);
      if (acquired.kind !== 'acquired') throw new Error('lease busy');
      const fence = leaseFence(acquired.lease);
      const lastClaim = async () => {
        await yieldTimes(trial % 3);
        return holderStore!.queue.claimNext({ sessionId: s, fence, owner: holder, ttlMs: TTL, maxBatches: 16, releaseLeaseWhenEmpty: true });
      };
      const enqueueAndTry = async () => {
        await yieldTimes((trial >> 2) % 3);
        const batch = await producerStore!.queue.enqueue(textDraft(s, `input ${trial}`));
        return { batch, lease: await jobStore!.leases.tryClaim(s, job, TTL) };
      };
      const [next, { batch, lease }] = await Promise.all([lastClaim(), enqueueAndTry()]);
      const holderHasIt = next.claim?.batches.some((b) => b.batchId === batch.batchId) ?? false;
      if (lease.kind === 'acquired') {
        outcomes.jobAcquired++;
        expect(next.leaseReleased, `trial ${trial}: the job acquired a lease the holder never released`).toBe(true);
      } else if (holderHasIt) {
        outcomes.holderTookIt++;
        expect(next.leaseReleased).toBe(false);
      } else {
        outcomes.stranded++;
      }
    }
    expect(outcomes.stranded, JSON.stringify(outcomes)).toBe(0);
    // Both orders happened, so the trials raced the two paths rather than running one of them.
    expect(outcomes.holderTookIt, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.jobAcquired, JSON.stringify(outcomes)).toBeGreaterThan(0);
  }, 300_000);
});
