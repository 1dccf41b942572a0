/**
 * P6, latency under open-loop load: inputs arrive at a fixed rate (50 % and 80 % of this run's
 * P4s median turns/s, the capacity of this very shape: one input per turn) whether or not the
 * workers keep up, each through the real producer (Postgres insert, then the BullMQ job),
 * round-robin over the sessions. Reported from the workers' IPC turn reports: enqueue→turn-start
 * (claim time − enqueue time, both store clock) and commit duration, p50/p95/p99 over every turn
 * of the repetition.
 */
import { percentile } from '../../workers/terminal.js';
import { benchSessionId } from '../../src/store/postgres/bench-seed.js';
import { runQueue, sleep, waitFor, type BenchContext, type Metrics, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

const LOADS = [0.5, 0.8] as const;

async function openLoop(ctx: BenchContext, load: number, rate: number): Promise<Metrics> {
  const { workers, concurrency, sessions, openLoopMs } = ctx.sizes;
  const tag = ctx.tag(`p6-${Math.round(load * 100)}`);
  const rq = runQueue(ctx, tag);
  const start: number[] = [];
  const commit: number[] = [];
  let turns = 0;
  const group = startTurnlaneWorkers(
    workers,
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag, concurrency, extra: { LEASE_TTL_MS: String(ctx.sizes.leaseTtlMs) } },
    (msg) => {
      turns += msg.batches;
      start.push(...msg.startLatencyMs);
      commit.push(msg.commitMs);
    },
  );
  try {
    await group.ready;
    let sent = 0;
    let failed = 0;
    const began = performance.now();
    while (performance.now() - began < openLoopMs) {
      const due = Math.floor(((performance.now() - began) / 1000) * rate);
      for (; sent < due; sent++) {
        rq.producer.enqueueTurnInput({ sessionId: benchSessionId(tag, sent % sessions), text: `arrival ${sent}` }).catch(() => failed++);
      }
      await sleep(2);
    }
    await waitFor(`P6 at ${load * 100} %: inputs committed`, () => turns + failed, sent, 120_000);
    if (failed > 0) throw new Error(`P6: ${failed} enqueues failed`);
    const offered = (sent * 1000) / openLoopMs;
    return {
      [`offered${load * 100}`]: offered,
      [`startP50_${load * 100}`]: percentile(start, 50),
      [`startP95_${load * 100}`]: percentile(start, 95),
      [`startP99_${load * 100}`]: percentile(start, 99),
      [`commitP50_${load * 100}`]: percentile(commit, 50),
      [`commitP95_${load * 100}`]: percentile(commit, 95),
      [`commitP99_${load * 100}`]: percentile(commit, 99),
    };
  } finally {
    await group.stop();
    await rq.close();
  }
}

export const p6Latency: Scenario = {
  id: 'P6',
  title: 'Latency: open-loop arrivals at 50 % and 80 % of P4s',
  metrics: LOADS.flatMap((load) => {
    const pct = load * 100;
    return [
      { key: `offered${pct}`, label: `${pct} %: offered inputs/s`, unit: '/s', better: 'higher' as const },
      ...(['start', 'commit'] as const).flatMap((kind) =>
        ([50, 95, 99] as const).map((p) => ({
          key: `${kind}P${p}_${pct}`,
          label: `${pct} %: ${kind === 'start' ? 'enqueue→turn-start' : 'commit'} p${p}`,
          unit: 'ms',
          better: 'lower' as const,
        })),
      ),
    ];
  }),
  async runOnce(ctx) {
    const capacity = ctx.medians.get('P4s')?.turnsPerSec;
    if (capacity === undefined) throw new Error('P6 needs P4s from the same invocation (run P4s first)');
    const out: Metrics = {};
    for (const load of LOADS) Object.assign(out, await openLoop(ctx, load, capacity * load));
    return out;
  },
};
