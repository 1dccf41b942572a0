/**
 * P4 (exclusive inputs) and P5 (join inputs of one merge key): sessions × inputs bulk-loaded into
 * Postgres, real worker processes (workers/main.ts, append-one handler) started, then every job
 * published; the clock runs from the first publish to the last committed turn (reported over IPC).
 * P4 also records the workers' peak resident memory.
 */
import { benchBatchesSeed } from '../../src/store/postgres/bench-seed.js';
import { perSecond, runQueue, waitFor, type BenchContext, type Metrics, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

export interface DrainRun {
  sessions: number;
  perSession: number;
  join: boolean;
  /** Extra worker arguments, e.g. --cpu-prof for the profile. */
  execArgv?: string[];
}

/** One drain: returns turns, inputs, wall time and the workers' peak RSS. */
export async function drainOnce(ctx: BenchContext, tagName: string, run: DrainRun): Promise<Metrics> {
  const { workers, concurrency } = ctx.sizes;
  const tag = ctx.tag(tagName);
  const total = run.sessions * run.perSession;
  await benchBatchesSeed(ctx.sql, {
    prefix: tag,
    sessions: run.sessions,
    perSession: run.perSession,
    slotPolicy: run.join ? 'join' : 'exclusive',
    mergeKey: run.join ? 'burst' : null,
  });
  const rq = runQueue(ctx, tag);
  let turns = 0;
  let inputs = 0;
  const group = startTurnlaneWorkers(
    workers,
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag, concurrency, extra: { LEASE_TTL_MS: String(ctx.sizes.leaseTtlMs) } },
    (msg) => {
      turns++;
      inputs += msg.batches;
    },
    run.execArgv,
  );
  try {
    await group.ready;
    const started = performance.now();
    await rq.publishSeeded(tag, run.sessions, run.perSession);
    await waitFor(`${tagName} inputs committed`, () => inputs, total, 600_000);
    const ms = performance.now() - started;
    return { turnsPerSec: perSecond(turns, ms), inputsPerSec: perSecond(inputs, ms), inputsPerTurn: inputs / turns, peakRssMb: Math.max(...group.peakRssMb()) };
  } finally {
    await group.stop();
    await rq.close();
  }
}

export const p4Drain: Scenario = {
  id: 'P4',
  title: 'turnlane drain: exclusive inputs, append-one handler',
  metrics: [
    { key: 'turnsPerSec', label: 'committed turns/s', unit: '/s', better: 'higher' },
    { key: 'peakRssMb', label: 'worker peak RSS', unit: 'MB', better: 'lower' },
  ],
  async runOnce(ctx) {
    const m = await drainOnce(ctx, 'p4', { sessions: ctx.sizes.sessions, perSession: ctx.sizes.perSession, join: false });
    return { turnsPerSec: m.turnsPerSec!, peakRssMb: m.peakRssMb! };
  },
};

export const p5Join: Scenario = {
  id: 'P5',
  title: 'Join: join inputs of one merge key',
  metrics: [
    { key: 'inputsPerSec', label: 'inputs/s', unit: '/s', better: 'higher' },
    { key: 'inputsPerTurn', label: 'inputs per turn', unit: '', better: 'higher' },
  ],
  async runOnce(ctx) {
    const m = await drainOnce(ctx, 'p5', { sessions: ctx.sizes.sessions, perSession: ctx.sizes.perSession, join: true });
    return { inputsPerSec: m.inputsPerSec!, inputsPerTurn: m.inputsPerTurn! };
  },
};
