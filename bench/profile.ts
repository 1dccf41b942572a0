/**
 * `node --import tsx bench/profile.ts [sessions] [inputs]`: where a P4 turn's time goes. Runs one
 * turnlane worker in this process (append-one handler, concurrency 16) on its own database and
 * prefix, with every store call counted and timed (postgres.js wall time per call, as the worker
 * sees it), and Redis commands counted from INFO commandstats; prints calls per committed turn and
 * per job, and milliseconds per call. Run it with --cpu-prof for the CPU side.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.js';
import { createSqlClient } from '../db/client.js';
import { redisConnection } from '../src/runtime/bullmq.js';
import { createWorker } from '../src/runtime/worker.js';
import type { RuntimeStore } from '../src/store/contract.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { benchBatchesSeed, benchDatabaseActivity, benchDatabaseDrop } from '../src/store/postgres/bench-seed.js';
import { renderTable } from '../workers/terminal.js';
import { createAppendOneHandler } from '../workers/append-one.js';
import { FULL, runQueue, waitFor, type BenchContext } from './harness.js';
import { processCpuMs } from './processes.js';

interface CallStats {
  calls: number;
  ms: number;
}

/** Wraps every method of every store segment to count and time it. */
function instrument(store: RuntimeStore, stats: Map<string, CallStats>): RuntimeStore {
  const wrap = <T extends object>(segment: string, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const name = `${segment}.${String(prop)}`;
        return async (...args: unknown[]) => {
          const started = performance.now();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          } finally {
            const s = stats.get(name) ?? { calls: 0, ms: 0 };
            s.calls++;
            s.ms += performance.now() - started;
            stats.set(name, s);
          }
        };
      },
    });
  return { ...store, leases: wrap('leases', store.leases), queue: wrap('queue', store.queue), sessions: wrap('sessions', store.sessions), clock: wrap('clock', store.clock) };
}

async function commandStats(redis: ReturnType<typeof redisConnection>): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const match of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out.set(match[1]!, Number(match[2]));
  return out;
}

async function main(): Promise<void> {
  const sessions = Number(process.argv[2] ?? 200);
  const perSession = Number(process.argv[3] ?? 10);
  const runId = randomBytes(3).toString('hex');
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/turnlane_bench_profile_${runId}`;
  const redisUrl = 'redis://127.0.0.1:6379';
  await migrate(databaseUrl);
  const sql = createSqlClient(databaseUrl, { maxConnections: 2 });
  const base = createPostgresStore({ databaseUrl, maxConnections: 10 });
  const stats = new Map<string, CallStats>();
  const store = instrument(base, stats);
  const ctx: BenchContext = {
    sizes: FULL,
    quick: false,
    databaseUrl,
    redisUrl,
    prefix: `{turnlane-profile-${runId}}`,
    sql,
    store: base,
    medians: new Map(),
    tag: (w) => w,
  };
  const redis = redisConnection(redisUrl, 'worker');
  try {
    await benchBatchesSeed(sql, { prefix: 'prof', sessions, perSession, slotPolicy: 'exclusive', mergeKey: null });
    const rq = runQueue(ctx, 'profile');
    const worker = createWorker({ store, handler: createAppendOneHandler(), settings: { redisUrl, queueName: 'profile', prefix: ctx.prefix }, concurrency: 16, allowInlineAttachments: true });
    let turns = 0;
    worker.events.on('turn_committed', () => void turns++);
    const running = worker.run();
    await rq.publishSeeded('prof', sessions, perSession);
    const beforeRedis = await commandStats(redis);
    const beforeDb = await benchDatabaseActivity(sql);
    const beforeBackendCpu = new Map(beforeDb.backendPids.map((pid) => [pid, processCpuMs(pid)]));
    stats.clear();
    const beforeCpu = process.cpuUsage();
    const started = performance.now();
    await waitFor('profile turns', () => turns, sessions * perSession, 600_000);
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(beforeCpu);
    const afterDb = await benchDatabaseActivity(sql);
    // Backends opened during the run started from 0 CPU; those of before count their difference.
    const postgresCpuMs = afterDb.backendPids.reduce((sum, pid) => sum + processCpuMs(pid) - (beforeBackendCpu.get(pid) ?? 0), 0);
    const afterRedis = await commandStats(redis);
    await worker.close();
    await running;
    await rq.close();

    const total = sessions * perSession;
    const rows = [...stats.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([name, s]) => [name, String(s.calls), (s.calls / total).toFixed(2), (s.ms / s.calls).toFixed(2), ((s.ms / total)).toFixed(2)]);
    console.log(`${total} turns in ${(ms / 1000).toFixed(1)} s = ${((total * 1000) / ms).toFixed(0)} turns/s, one in-process worker, concurrency 16`);
    console.log(renderTable(['store call', 'calls', 'per turn', 'ms per call', 'ms per turn (summed over slots)'], rows));
    const perTurn = (x: number) => (x / total).toFixed(3);
    console.log(
      `per turn: worker CPU ${perTurn((cpu.user + cpu.system) / 1000)} ms, Postgres backends' CPU ${perTurn(postgresCpuMs)} ms, ` +
        `Postgres transactions ${perTurn(afterDb.transactions - beforeDb.transactions - 2)}`,
    );
    const redisRows = [...afterRedis.entries()]
      .map(([cmd, n]) => [cmd, n - (beforeRedis.get(cmd) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([cmd, n]) => [cmd, String(n), (n / total).toFixed(2)]);
    console.log(renderTable(['redis command (whole server)', 'calls', 'per turn'], redisRows));
  } finally {
    redis.disconnect();
    await base.close();
    await sql.end();
    await benchDatabaseDrop(databaseUrl);
  }
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
