/**
 * P1, the ceiling: postgres.js statements shaped like turnlane's claim and commit (lock one row,
 * update, insert, delete; each one autocommit statement, one round trip, as turnlane sends them),
 * in pairs, from as many processes, loops and connections as the workers of P4 use. Pairs/s is the physical limit for
 * turns/s on this machine: a turn cannot need less than one claim and one commit.
 */
import { createSqlClient } from '../../db/client.js';
import { loadConfig } from '../../src/config.js';
import { ceilingClaim, ceilingCommit, ceilingSeed } from '../../src/store/postgres/bench-seed.js';
import type { ChildContext } from '../child.js';
import { perSecond, sleep, type BenchContext, type Scenario } from '../harness.js';
import { startChildren } from '../processes.js';

/** Connections per worker process in P4: the PG_MAX_CONNECTIONS default, read the same way. */
const POOL = loadConfig().PG_MAX_CONNECTIONS;

function loopSession(tag: string, child: number, loop: number): string {
  return `${tag}-c${child}-l${loop}`;
}

export const p1Ceiling: Scenario = {
  id: 'P1',
  title: 'Ceiling: claim-shaped + commit-shaped transaction pairs',
  metrics: [{ key: 'pairsPerSec', label: 'pairs/s', unit: '/s', better: 'higher' }],
  async runOnce(ctx: BenchContext) {
    const { workers, concurrency, ceilingMs } = ctx.sizes;
    const tag = ctx.tag('p1');
    const ids = Array.from({ length: workers }, (_, c) => Array.from({ length: concurrency }, (_, l) => loopSession(tag, c, l))).flat();
    await ceilingSeed(ctx.sql, ids);
    let done = 0;
    const group = startChildren(workers, 'ceiling', { BENCH_DATABASE_URL: ctx.databaseUrl, BENCH_TAG: tag, BENCH_LOOPS: String(concurrency) }, (n) => (done += n));
    try {
      await group.ready;
      await sleep(500);
      const from = done;
      const started = performance.now();
      await sleep(ceilingMs);
      return { pairsPerSec: perSecond(done - from, performance.now() - started) };
    } finally {
      await group.stop();
    }
  },
};

/** The child side: BENCH_LOOPS loops over its own sessions, each claim then commit, forever. */
export async function runCeilingChild(context: ChildContext): Promise<void> {
  const sql = createSqlClient(context.env.BENCH_DATABASE_URL!, { maxConnections: POOL });
  const loops = Number(context.env.BENCH_LOOPS);
  const tag = context.env.BENCH_TAG!;
  await sql`select 1`;
  for (let l = 0; l < loops; l++) {
    const sessionId = loopSession(tag, context.index, l);
    void (async () => {
      for (let turn = 0; ; turn++) {
        const batchId = await ceilingClaim(sql, sessionId);
        if (batchId === null) throw new Error(`ceiling session ${sessionId} has no batch`);
        await ceilingCommit(sql, sessionId, batchId, turn);
        context.done();
      }
    })().catch((err) => {
      console.error(err);
      process.exit(1);
    });
  }
}
