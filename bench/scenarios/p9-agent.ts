/**
 * P9, agent-shaped load, turnlane and graphile-worker side by side. Sessions whose turns each wait
 * `agentTurnMs` of simulated model time (a timer, not CPU) with one checkpoint halfway
 * (workers/append-one.ts), `agentWorkers` processes × `agentConcurrency` job slots, inputs
 * arriving open-loop at `agentRate`/s round-robin over the sessions (each session's next input
 * comes long after its turn ended, so a start delay is the delivery's, not the session's). Every
 * repetition runs turnlane, then graphile-worker (P3's per-session queues, the same arrivals,
 * wait, processes and concurrency: bench/peers/graphile.ts).
 *
 * Measured from the first arrival to the last committed turn: the workers' CPU per turn (/proc,
 * all worker processes together, idle work included), Postgres statements per turn and renewal
 * (heartbeat) statements from pg_stat_statements (bench/statement-stats.ts: the workers'
 * statements only, the producer's are another role), enqueue→turn-start p50/p99 and the
 * workers' peak RSS. pg_stat_statements needs a server that preloads it: P9 runs on a
 * PostgreSQL of its own (bench/private-postgres.ts); without one (or in --quick, where its ~10 s
 * set-up would double the scenario) it runs on the shared server and reports no statement counts.
 */
import { makeWorkerUtils, Logger, runMigrations, type WorkerUtils } from 'graphile-worker';
import { createSqlClient, type Sql } from '../../db/client.js';
import { migrate } from '../../db/migrate.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { benchServerVersion, benchSessionId, peerResultTableCreate } from '../../src/store/postgres/bench-seed.js';
import { percentile } from '../../workers/terminal.js';
import { retrying, runQueue, sleep, waitFor, type BenchContext, type Metrics, type MetricSpec, type Scenario } from '../harness.js';
import { privatePostgresStart } from '../private-postgres.js';
import { startChildren, startTurnlaneWorkers, type ProcessGroup } from '../processes.js';
import { isRenewal, OBSERVER_ROLE, PRODUCER_ROLE, statementStatsRead, statementStatsReset, statementStatsSetup, type StatementCount } from '../statement-stats.js';

/** graphile-worker connections per process in P9 (see runGraphileAgentChild). */
const PEER_POOL = 10;

interface AgentWorld {
  /** What the workers connect to (role postgres). */
  databaseUrl: string;
  /** The producer's (and the peer's enqueues'). */
  producerUrl: string;
  store: RuntimeStore;
  /** Reads pg_stat_statements; null on a server without it. */
  observer: Sql | null;
  close(): Promise<void>;
}

async function openWorld(ctx: BenchContext): Promise<AgentWorld> {
  const major = (await benchServerVersion(ctx.sql)).split('.')[0]!;
  const pg = ctx.sizes.agentOwnPostgres ? await privatePostgresStart(major) : { unavailable: 'no PostgreSQL of its own in --quick' };
  if ('unavailable' in pg) {
    console.error(`\nP9: ${pg.unavailable}; running on the shared server without statement counts`);
    await runMigrations({ connectionString: ctx.databaseUrl, logger: quietLogger });
    await peerResultTableCreate(ctx.sql);
    return { databaseUrl: ctx.databaseUrl, producerUrl: ctx.databaseUrl, store: ctx.store, observer: null, close: async () => {} };
  }
  const database = 'turnlane_bench_p9';
  const databaseUrl = pg.url(database);
  try {
    await migrate(databaseUrl);
    const admin = createSqlClient(databaseUrl, { maxConnections: 1 });
    try {
      await statementStatsSetup(admin);
      await peerResultTableCreate(admin);
    } finally {
      await admin.end();
    }
    await runMigrations({ connectionString: databaseUrl, logger: quietLogger });
  } catch (err) {
    pg.stop();
    throw err;
  }
  const producerUrl = pg.url(database, PRODUCER_ROLE);
  const store = createPostgresStore({ databaseUrl: producerUrl, maxConnections: 10 });
  const observer = createSqlClient(pg.url(database, OBSERVER_ROLE), { maxConnections: 1 });
  return {
    databaseUrl,
    producerUrl,
    store,
    observer,
    async close() {
      await store.close();
      await observer.end();
      pg.stop();
    },
  };
}

const quietLogger = new Logger(() => () => {});

/** Sends `send(i)` for arrival i at `rate`/s for `windowMs`, on schedule whether or not earlier ones finished. */
async function arrivals(rate: number, windowMs: number, send: (i: number) => void): Promise<number> {
  let sent = 0;
  const began = performance.now();
  while (performance.now() - began < windowMs) {
    const due = Math.floor(((performance.now() - began) / 1000) * rate);
    for (; sent < due; sent++) send(sent);
    await sleep(2);
  }
  return sent;
}

/** What both systems' repetitions measure between their first arrival and their last commit. */
interface Window {
  group: ProcessGroup;
  world: AgentWorld;
  /** Completed units (turns or jobs) and failed sends so far. */
  progress(): number;
  send(i: number): void;
}

interface Measured {
  units: number;
  ms: number;
  cpuMs: number;
  statements: StatementCount[] | null;
}

async function measure(ctx: BenchContext, label: string, w: Window): Promise<Measured> {
  const { agentRate, agentWindowMs } = ctx.sizes;
  if (w.world.observer) await statementStatsReset(w.world.observer);
  const cpu = w.group.cpuMs();
  const started = performance.now();
  const sent = await arrivals(agentRate, agentWindowMs, w.send);
  // Generous: on a loaded machine the workers fall behind, and that is a result, not a failure.
  await waitFor(`P9 ${label}: inputs done`, w.progress, sent, Math.max(120_000, 10 * agentWindowMs));
  const ms = performance.now() - started;
  const cpuMs = w.group.cpuMs() - cpu;
  const statements = w.world.observer ? (await statementStatsRead(w.world.observer)).filter((s) => s.role === 'postgres') : null;
  return { units: sent, ms, cpuMs, statements };
}

function total(statements: StatementCount[], which: (s: StatementCount) => boolean = () => true): number {
  return statements.filter(which).reduce((sum, s) => sum + s.calls, 0);
}

/** The workers' most frequent statements, per turn, for the record (stderr). */
function printBreakdown(label: string, statements: StatementCount[], units: number): void {
  const lines = statements.slice(0, 10).map((s) => `  ${(s.calls / units).toFixed(2).padStart(6)}  ${isRenewal(s.query) ? '[renewal] ' : ''}${s.query.replace(/\s+/g, ' ').slice(0, 110)}`);
  console.error(`\nP9 ${label}: workers' statements per unit (top 10 of ${statements.length}):\n${lines.join('\n')}`);
}

async function turnlaneOnce(ctx: BenchContext, world: AgentWorld): Promise<Metrics> {
  const { agentSessions, agentWorkers, agentConcurrency, agentTurnMs, leaseTtlMs } = ctx.sizes;
  const tag = ctx.tag('p9');
  const rq = runQueue(ctx, tag, world.store);
  const starts: number[] = [];
  let inputs = 0;
  let turns = 0;
  let failed = 0;
  const group = startTurnlaneWorkers(
    agentWorkers,
    {
      databaseUrl: world.databaseUrl,
      redisUrl: ctx.redisUrl,
      prefix: ctx.prefix,
      queueName: tag,
      concurrency: agentConcurrency,
      extra: { LEASE_TTL_MS: String(leaseTtlMs), TURNLANE_HANDLER_HOLD_MS: String(agentTurnMs) },
    },
    (msg) => {
      turns++;
      inputs += msg.batches + msg.midTurn;
      starts.push(...msg.startLatencyMs);
    },
  );
  try {
    await group.ready;
    const m = await measure(ctx, 'turnlane', {
      group,
      world,
      progress: () => inputs + failed,
      send: (i) => void rq.producer.enqueueTurnInput({ sessionId: benchSessionId(tag, i % agentSessions), text: `arrival ${i}` }).catch(() => failed++),
    });
    if (failed > 0) throw new Error(`P9 turnlane: ${failed} enqueues failed`);
    const out: Metrics = {
      tlTurnsPerSec: (turns * 1000) / m.ms,
      tlCpuPerTurnMs: m.cpuMs / turns,
      tlStartP50: percentile(starts, 50),
      tlStartP99: percentile(starts, 99),
      tlRssMb: Math.max(...group.peakRssMb()),
    };
    if (m.statements) {
      // heartbeat.ts renews every TTL/3.
      const intervals = m.ms / (leaseTtlMs / 3);
      const renewals = total(m.statements, (s) => isRenewal(s.query));
      Object.assign(out, {
        tlStatementsPerTurn: total(m.statements) / turns,
        tlRenewalsPerSec: (renewals * 1000) / m.ms,
        tlRenewalsPerProcessInterval: renewals / agentWorkers / intervals,
      });
      printBreakdown('turnlane', m.statements, turns);
    }
    return out;
  } finally {
    await group.stop();
    await rq.close();
  }
}

async function graphileOnce(ctx: BenchContext, world: AgentWorld): Promise<Metrics> {
  const { agentSessions, agentWorkers, agentConcurrency, agentTurnMs } = ctx.sizes;
  const tag = ctx.tag('p9g');
  const starts: number[] = [];
  let done = 0;
  let failed = 0;
  const group = startChildren(
    agentWorkers,
    'graphile-agent',
    { BENCH_DATABASE_URL: world.databaseUrl, BENCH_CONCURRENCY: String(agentConcurrency), BENCH_POOL: String(PEER_POOL), BENCH_HOLD_MS: String(agentTurnMs) },
    (n, latencies) => {
      done += n;
      starts.push(...latencies);
    },
  );
  let utils: WorkerUtils | undefined;
  try {
    utils = await makeWorkerUtils({ connectionString: world.producerUrl, logger: quietLogger });
    const add = utils.addJob.bind(utils);
    await group.ready;
    const m = await measure(ctx, 'graphile-worker', {
      group,
      world,
      progress: () => done + failed,
      send: (i) => {
        const sessionId = benchSessionId(tag, i % agentSessions);
        void add('turn', { sessionId, seq: i, sentAtMs: Date.now() }, { queueName: sessionId }).catch(() => failed++);
      },
    });
    if (failed > 0) throw new Error(`P9 graphile-worker: ${failed} addJob calls failed`);
    const out: Metrics = {
      gwCpuPerJobMs: m.cpuMs / m.units,
      gwStartP50: percentile(starts, 50),
      gwStartP99: percentile(starts, 99),
      gwRssMb: Math.max(...group.peakRssMb()),
    };
    if (m.statements) {
      out.gwStatementsPerJob = total(m.statements) / m.units;
      printBreakdown('graphile-worker', m.statements, m.units);
    }
    return out;
  } finally {
    await group.stop();
    await utils?.release();
  }
}

const METRICS: MetricSpec[] = [
  { key: 'tlTurnsPerSec', label: 'turnlane: committed turns/s', unit: '/s', better: 'higher' },
  { key: 'tlCpuPerTurnMs', label: 'turnlane: worker CPU per turn', unit: 'ms', better: 'lower' },
  { key: 'tlStatementsPerTurn', label: 'turnlane: worker statements per turn', unit: '', better: 'lower' },
  { key: 'tlRenewalsPerSec', label: 'turnlane: heartbeat statements/s', unit: '/s', better: 'lower' },
  { key: 'tlRenewalsPerProcessInterval', label: 'turnlane: heartbeat statements per process per renewal interval', unit: '', better: 'lower' },
  { key: 'tlStartP50', label: 'turnlane: enqueue→turn-start p50', unit: 'ms', better: 'lower' },
  { key: 'tlStartP99', label: 'turnlane: enqueue→turn-start p99', unit: 'ms', better: 'lower' },
  { key: 'tlRssMb', label: 'turnlane: worker peak RSS', unit: 'MB', better: 'lower' },
  { key: 'gwCpuPerJobMs', label: 'graphile-worker: worker CPU per job', unit: 'ms', better: 'lower' },
  { key: 'gwStatementsPerJob', label: 'graphile-worker: worker statements per job', unit: '', better: 'lower' },
  { key: 'gwStartP50', label: 'graphile-worker: enqueue→job-start p50', unit: 'ms', better: 'lower' },
  { key: 'gwStartP99', label: 'graphile-worker: enqueue→job-start p99', unit: 'ms', better: 'lower' },
  { key: 'gwRssMb', label: 'graphile-worker: worker peak RSS', unit: 'MB', better: 'lower' },
];

export const p9Agent: Scenario = {
  id: 'P9',
  title: 'Agent-shaped load: turns waiting on a timer, with a checkpoint; turnlane vs graphile-worker',
  metrics: METRICS,
  async runSeries(ctx, reps, onRep, retries) {
    const world = await openWorld(ctx);
    const runs: Metrics[] = [];
    try {
      const rounds = (ctx.sizes.warmup ? 1 : 0) + reps;
      for (let round = 0; round < rounds; round++) {
        const tl = await retrying(`P9 turnlane round ${round}`, () => turnlaneOnce(ctx, world), retries);
        const gw = await retrying(`P9 graphile-worker round ${round}`, () => graphileOnce(ctx, world), retries);
        if (!(ctx.sizes.warmup && round === 0)) runs.push({ ...tl, ...gw });
        onRep();
      }
    } finally {
      await world.close();
    }
    return runs;
  },
};
