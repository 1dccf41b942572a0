/**
 * P3, the peer: graphile-worker 0.16 with `queue_name` = session id (its serial per-key queues:
 * one job of a queue runs at a time, in order), P4's sessions, inputs, processes and concurrency,
 * each job making one insert of a turn result in the same database. Its pool is concurrency + 2,
 * graphile-worker's own recommendation, so it is not starved of connections.
 */
import { Logger, run, runMigrations } from 'graphile-worker';
import { PEER_RESULT_INSERT, peerJobsSeed, peerResultTableCreate } from '../../src/store/postgres/bench-seed.js';
import type { ChildContext } from '../child.js';
import { perSecond, waitFor, type BenchContext, type Scenario } from '../harness.js';
import { startChildren } from '../processes.js';

let migrated = false;

export const p3Graphile: Scenario = {
  id: 'P3',
  title: 'Peer: graphile-worker, queue_name = session',
  metrics: [{ key: 'jobsPerSec', label: 'jobs/s', unit: '/s', better: 'higher' }],
  async runOnce(ctx: BenchContext) {
    const { workers, concurrency, sessions, perSession } = ctx.sizes;
    if (!migrated) {
      await runMigrations({ connectionString: ctx.databaseUrl, logger: quietLogger });
      await peerResultTableCreate(ctx.sql);
      migrated = true;
    }
    let done = 0;
    const group = startChildren(workers, 'graphile', { BENCH_DATABASE_URL: ctx.databaseUrl, BENCH_CONCURRENCY: String(concurrency) }, (n) => (done += n));
    try {
      await group.ready;
      const started = performance.now();
      const total = await peerJobsSeed(ctx.sql, { prefix: ctx.tag('p3'), sessions, perSession });
      await waitFor('P3 graphile-worker jobs', () => done, total, 300_000);
      return { jobsPerSec: perSecond(total, performance.now() - started) };
    } finally {
      await group.stop();
    }
  },
};

const quietLogger = new Logger(() => () => {});

export async function runGraphileChild(context: ChildContext): Promise<void> {
  const concurrency = Number(context.env.BENCH_CONCURRENCY);
  const runner = await run({
    connectionString: context.env.BENCH_DATABASE_URL!,
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: true,
    logger: quietLogger,
    taskList: {
      turn: async (payload, helpers) => {
        const { sessionId, seq } = payload as { sessionId: string; seq: number };
        await helpers.query(PEER_RESULT_INSERT, [sessionId, seq, JSON.stringify({ appended: 1 })]);
      },
    },
  });
  runner.events.on('job:success', () => context.done());
}

/**
 * P3 in P9's shape (bench/scenarios/p9-agent.ts): each job waits BENCH_HOLD_MS (the simulated
 * model time, a timer) and then makes P3's insert. graphile-worker has no mid-job checkpoint, so
 * its job has nothing in place of turnlane's. Reports each job's enqueue→start latency from the
 * `sentAtMs` the parent put in the payload. BENCH_POOL connections per process instead of
 * concurrency + 2: 502 × 4 would exceed the server's max_connections, and a job holds none while
 * it waits.
 */
export async function runGraphileAgentChild(context: ChildContext): Promise<void> {
  const holdMs = Number(context.env.BENCH_HOLD_MS);
  const runner = await run({
    connectionString: context.env.BENCH_DATABASE_URL!,
    concurrency: Number(context.env.BENCH_CONCURRENCY),
    maxPoolSize: Number(context.env.BENCH_POOL),
    noHandleSignals: true,
    logger: quietLogger,
    taskList: {
      turn: async (payload, helpers) => {
        const { sessionId, seq, sentAtMs } = payload as { sessionId: string; seq: number; sentAtMs: number };
        context.started(Date.now() - sentAtMs);
        await new Promise((resolve) => setTimeout(resolve, holdMs));
        await helpers.query(PEER_RESULT_INSERT, [sessionId, seq, JSON.stringify({ appended: 1 })]);
      },
    },
  });
  runner.events.on('job:success', () => context.done());
}
