/**
 * P7, growth. Claim latency: N queued batches bulk-loaded over min(N, 100k) sessions, then
 * claimReady timed alone (lease taken before, claim abandoned and lease released after, one at a
 * time on one connection) for sessions picked at random. Throughput: P4's workers draining
 * sessions × inputs bulk-loaded with every job published before the workers start, counted over
 * a fixed window that opens 1 s after the first commit, so every size is measured in steady state.
 */
import { percentile } from '../../workers/terminal.js';
import { benchBatchesSeed, benchQueueTruncate, benchSessionId } from '../../src/store/postgres/bench-seed.js';
import { leaseFence } from '../../src/store/drafts.js';
import type { LeaseOwner } from '../../src/store/contract.js';
import { perSecond, retrying, runQueue, sleep, waitFor, type BenchContext, type Metrics, type MetricSpec, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

const MAX_SESSIONS = 100_000;

export function sizeLabel(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

async function claimLatency(ctx: BenchContext, queued: number, samples: number): Promise<Metrics> {
  const tag = `p7q${sizeLabel(queued)}`;
  const sessions = Math.min(queued, MAX_SESSIONS);
  const owner: LeaseOwner = { ownerId: 'bench-p7', incarnationId: tag };
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const sessionId = benchSessionId(tag, Math.floor(Math.random() * sessions));
    const lease = await ctx.store.leases.tryClaim(sessionId, owner, 30_000);
    if (lease.kind !== 'acquired') throw new Error(`P7: ${sessionId} is busy`);
    const fence = leaseFence(lease.lease);
    const t0 = performance.now();
    const claim = await ctx.store.queue.claimReady({ sessionId, fence, owner, boundary: 'idle', ttlMs: 30_000, maxBatches: 16 });
    times.push(performance.now() - t0);
    if (!claim) throw new Error(`P7: ${sessionId} had nothing to claim`);
    await ctx.store.queue.abandonClaim(claim);
    await ctx.store.leases.release(fence);
  }
  const label = sizeLabel(queued);
  return { [`claimP50_${label}`]: percentile(times, 50), [`claimP99_${label}`]: percentile(times, 99) };
}

async function throughput(ctx: BenchContext, sessions: number): Promise<Metrics> {
  const { workers, concurrency, growthInputs, growthWindowMs } = ctx.sizes;
  const tag = ctx.tag(`p7s${sizeLabel(sessions)}`);
  const perSession = Math.max(1, Math.floor(growthInputs / sessions));
  await benchQueueTruncate(ctx.sql);
  await benchBatchesSeed(ctx.sql, { prefix: tag, sessions, perSession, slotPolicy: 'exclusive', mergeKey: null });
  const rq = runQueue(ctx, tag);
  await rq.publishSeeded(tag, sessions, perSession);
  let turns = 0;
  const group = startTurnlaneWorkers(
    workers,
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag, concurrency, extra: { LEASE_TTL_MS: String(ctx.sizes.leaseTtlMs) } },
    () => void turns++,
  );
  try {
    await group.ready;
    await waitFor(`P7 ${sessions} sessions: first turn`, () => turns, 1, 120_000);
    await sleep(1000);
    const from = turns;
    const started = performance.now();
    await sleep(growthWindowMs);
    const counted = turns - from;
    if (turns >= sessions * perSession) throw new Error(`P7 ${sessions} sessions: the queue ran dry inside the window; load more inputs`);
    return { [`turnsPerSec_${sizeLabel(sessions)}`]: perSecond(counted, performance.now() - started) };
  } finally {
    await group.stop();
    await rq.close();
  }
}

export function p7Metrics(queued: number[], sessions: number[]): MetricSpec[] {
  return [
    ...queued.flatMap((n) => [
      { key: `claimP50_${sizeLabel(n)}`, label: `claim p50, ${sizeLabel(n)} queued`, unit: 'ms', better: 'lower' as const },
      { key: `claimP99_${sizeLabel(n)}`, label: `claim p99, ${sizeLabel(n)} queued`, unit: 'ms', better: 'lower' as const },
    ]),
    ...sessions.map((n) => ({ key: `turnsPerSec_${sizeLabel(n)}`, label: `turns/s, ${sizeLabel(n)} sessions`, unit: '/s', better: 'higher' as const })),
  ];
}

export const p7Growth: Scenario = {
  id: 'P7',
  title: 'Growth: claim latency by queue size, throughput by session count',
  metrics: [],
  async runSeries(ctx, reps, onRep, retries) {
    const { growthQueued, growthSessions, growthClaims } = ctx.sizes;
    this.metrics = p7Metrics(growthQueued, growthSessions);
    const runs: Metrics[] = Array.from({ length: reps }, () => ({}));
    for (const queued of growthQueued) {
      await benchQueueTruncate(ctx.sql);
      const tag = `p7q${sizeLabel(queued)}`;
      const sessions = Math.min(queued, MAX_SESSIONS);
      await benchBatchesSeed(ctx.sql, { prefix: tag, sessions, perSession: Math.ceil(queued / sessions), slotPolicy: 'exclusive', mergeKey: null });
      if (ctx.sizes.warmup) await claimLatency(ctx, queued, Math.min(200, growthClaims));
      for (let r = 0; r < reps; r++) Object.assign(runs[r]!, await retrying(`P7 claims ${queued}`, () => claimLatency(ctx, queued, growthClaims), retries));
      onRep();
    }
    for (let r = 0; r < reps; r++) {
      for (const sessions of growthSessions) Object.assign(runs[r]!, await retrying(`P7 ${sessions} sessions`, () => throughput(ctx, sessions), retries));
      onRep();
    }
    await benchQueueTruncate(ctx.sql);
    return runs;
  },
};
