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
