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

  it(`${TRIALS} trials with the fused calls: the holder's commit-and-claim against a job's acquire-and-claim`, async () => {
    const [holderStore, producerStore, jobStore] = fx.stores as [typeof fx.stores[0], typeof fx.stores[0], typeof fx.stores[0]];
    const holder = owner('holder');
    const job = owner('job');
    const outcomes = { holderTookIt: 0, jobTookIt: 0, claimedAfter: 0, stranded: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const s = `fused-${trial}`;
      await producerStore!.queue.enqueue(textDraft(s, `first ${trial}`));
      const opened = await holderStore!.leases.acquireAndClaimNext({ sessionId: s, owner: holder, ttlMs: TTL, maxBatches: 16 });
      if (opened.kind !== 'acquired' || !opened.first) throw new Error(`trial ${trial}: no first claim (${opened.kind})`);
      const fence = leaseFence(opened.lease);
      const claim = opened.first.claim;
      const lastCommit = async () => {
        await yieldTimes(trial % 3);
        const commit = {
          sessionId: s,
          expectedHeadRevision: 0,
          state: { graph: { kind: 'unchanged' as const, leafNodeId: null }, checkpoint: { turnIndex: 1 }, agentFrames: [], currentAgentFrameId: null },
          leaseFence: fence,
          completedQueueClaims: [{ sessionId: s, claimId: claim.claimId, claimToken: claim.claimToken, batchIds: claim.batches.map((b) => b.batchId) }],
        };
        const { next } = await holderStore!.sessions.commitAndClaimNext(commit, { owner: holder, ttlMs: TTL, maxBatches: 16, releaseLeaseWhenEmpty: true });
        if (next) return next;
        // The statement left the claim to the holder (an enqueue landed after its snapshot): as the drain does.
        outcomes.claimedAfter++;
        return holderStore!.queue.claimNext({ sessionId: s, fence, owner: holder, ttlMs: TTL, maxBatches: 16, releaseLeaseWhenEmpty: true });
      };
      const enqueueAndTry = async () => {
        await yieldTimes((trial >> 2) % 3);
        const batch = await producerStore!.queue.enqueue(textDraft(s, `input ${trial}`));
        return { batch, started: await jobStore!.leases.acquireAndClaimNext({ sessionId: s, owner: job, ttlMs: TTL, maxBatches: 16 }) };
      };
      const [next, { batch, started }] = await Promise.all([lastCommit(), enqueueAndTry()]);
      const holderHasIt = next.claim?.batches.some((b) => b.batchId === batch.batchId) ?? false;
      const jobHasIt = started.kind === 'acquired' && (started.first?.claim.batches.some((b) => b.batchId === batch.batchId) ?? false);
      if (jobHasIt) {
        outcomes.jobTookIt++;
        expect(next.leaseReleased, `trial ${trial}: the job acquired a lease the holder never released`).toBe(true);
      } else if (holderHasIt) {
        outcomes.holderTookIt++;
        expect(started.kind, `trial ${trial}: the holder kept the lease, the job must have found it held`).toBe('busy');
      } else {
        outcomes.stranded++;
      }
    }
    expect(outcomes.stranded, JSON.stringify(outcomes)).toBe(0);
    expect(outcomes.holderTookIt, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.jobTookIt, JSON.stringify(outcomes)).toBeGreaterThan(0);
  }, 300_000);
});
