/**
 * `npm run bench [-- --scenario P4[,P6…]] [--quick] [--reps N] [--out DIR]`: the scenarios of
 * spec 06 (Performance) and issue 12 on the local Postgres and Redis, in one process tree, against
 * a database and a BullMQ prefix of its own (created, then dropped). P1–P5 (with P4s) alternate
 * repetition by repetition, so their ratios hold on a noisy machine. Writes `<date>.json`,
 * `<date>.md` and `<date>.svg` to bench/results/ (`--quick`: to a temporary folder unless --out is
 * given) and prints the table. Scenario names are case-blind; `client` is P10.
 *
 * `--quick` runs every scenario small (under 2 minutes) and fails unless every number is sane.
 * `--reps N` overrides the repetitions (after the warm-up), e.g. 1 to try a scenario at full size.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.js';
import { createSqlClient } from '../db/client.js';
import { redisConnection } from '../src/runtime/bullmq.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { benchDatabaseDrop, benchServerVersion } from '../src/store/postgres/bench-seed.js';
import { Progress, renderTable } from '../workers/terminal.js';
import { FULL, QUICK, retrying, summarize, type BenchContext, type Metrics, type Scenario } from './harness.js';
import { markdown, printable, svgChart, verdicts, type BenchResult, type Machine, type ScenarioResult } from './report.js';
import { p1Ceiling } from './scenarios/p1-ceiling.js';
import { p2BullmqNoop } from './peers/bullmq-noop.js';
import { p3Graphile } from './peers/graphile.js';
import { p4Drain, p5Join } from './scenarios/p4-drain.js';
import { p4sSingle } from './scenarios/p4s-single.js';
import { p6Latency } from './scenarios/p6-latency.js';
import { p7Growth } from './scenarios/p7-growth.js';
import { p8Takeover } from './scenarios/p8-takeover.js';
import { p9Agent } from './scenarios/p9-agent.js';
import { p10Client } from './scenarios/p10-client.js';

/** Scenarios that run alternating, repetition by repetition, in this order. */
const ALTERNATING: Scenario[] = [p1Ceiling, p2BullmqNoop, p3Graphile, p4Drain, p4sSingle, p5Join];
/** Scenarios that run one after the other, after the alternating ones. */
const SOLO: Scenario[] = [p6Latency, p7Growth, p8Takeover, p9Agent, p10Client];

/** Other names `--scenario` accepts. */
const ALIASES: Record<string, string> = { CLIENT: 'P10' };

interface Args {
  scenarios: Set<string>;
  quick: boolean;
  reps: number | undefined;
  out: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const all = [...ALTERNATING, ...SOLO].map((s) => s.id);
  const byName = new Map(all.map((id) => [id.toUpperCase(), id]));
  const args: Args = { scenarios: new Set(all), quick: false, reps: undefined, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg}: expected a value`);
      return v;
    };
    if (arg === '--quick') args.quick = true;
    else if (arg === '--scenario') {
      const names = value().split(',').map((n) => n.trim().toUpperCase());
      const unknown = names.filter((n) => !byName.has(ALIASES[n] ?? n));
      if (unknown.length > 0) throw new Error(`--scenario: expected some of ${all.join(', ')} or client, got ${unknown.join(', ')}`);
      args.scenarios = new Set(names.map((n) => byName.get(ALIASES[n] ?? n)!));
    } else if (arg === '--reps') {
      const reps = Number(value());
      if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps: expected a whole number ≥ 1, got ${argv[i]}`);
      args.reps = reps;
    } else if (arg === '--out') args.out = value();
    else throw new Error(`unknown argument ${arg}; expected --scenario P1,…,P10, --quick, --reps N or --out DIR`);
  }
  // P6 offers shares of P4s's rate, measured in the same invocation.
  if (args.scenarios.has('P6')) args.scenarios.add('P4s');
  return args;
}

async function machine(ctx: { sql: BenchContext['sql']; redisUrl: string }): Promise<Machine> {
  const redis = redisConnection(ctx.redisUrl, 'worker');
  try {
    const info = await redis.info('server');
    return {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.versions.node,
      postgres: await benchServerVersion(ctx.sql),
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    };
  } finally {
    redis.disconnect();
  }
}

/** Quick mode's check: every number finite, throughputs positive. */
function insane(results: ScenarioResult[]): string[] {
  return results.flatMap((r) =>
    r.metrics
      .filter((m) => !Number.isFinite(m.median) || m.median < 0 || (m.better === 'higher' && m.median <= 0))
      .map((m) => `${r.id} ${m.label}: ${m.median}`),
  );
}

export async function runBench(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const sizes = { ...(args.quick ? QUICK : FULL), ...(args.reps !== undefined ? { reps: args.reps } : {}) };
  const started = performance.now();
  const runId = `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${randomBytes(3).toString('hex')}`;
  const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/turnlane');
  baseUrl.pathname = `/turnlane_bench_${runId}`;
  const databaseUrl = baseUrl.toString();
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  await migrate(databaseUrl);
  const sql = createSqlClient(databaseUrl, { maxConnections: 4 });
  const store = createPostgresStore({ databaseUrl, maxConnections: 10 });
  let counter = 0;
  const ctx: BenchContext = {
    sizes,
    quick: args.quick,
    databaseUrl,
    redisUrl,
    prefix: `{turnlane-bench-${runId}}`,
    sql,
    store,
    medians: new Map(),
    tag: (what) => `${what}-${++counter}`,
  };
  const results: ScenarioResult[] = [];
  const retries = { count: 0 };
  const date = new Date().toISOString().slice(0, 10);
  const dir = args.out ?? (args.quick ? mkdtempSync(join(tmpdir(), 'turnlane-bench-')) : fileURLToPath(new URL('./results/', import.meta.url)));
  let host: Machine | undefined;
  // Keeps the loop alive: a promise orphaned by a lost connection must hang (and time out), not end the process with 0.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    host = await machine(ctx);
    console.error(`bench ${runId}: ${host.cpus} cores, ${host.memoryGb} GB, PostgreSQL ${host.postgres}, Redis ${host.redis}${args.quick ? ', quick' : ''}`);
    const alternating = ALTERNATING.filter((s) => args.scenarios.has(s.id));
    const solo = SOLO.filter((s) => args.scenarios.has(s.id));
    const rounds = (sizes.warmup ? 1 : 0) + sizes.reps;
    const progress = new Progress('bench runs', alternating.length * rounds + solo.length * rounds + (solo.includes(p7Growth) ? sizes.growthQueued.length : 0));
    let done = 0;
    const tick = () => progress.update(++done);

    const runs = new Map<string, Metrics[]>(alternating.map((s) => [s.id, []]));
    for (let round = 0; round < rounds; round++) {
      const warm = sizes.warmup && round === 0;
      for (const scenario of alternating) {
        const metrics = await retrying(`${scenario.id} round ${round}`, () => scenario.runOnce!(ctx, warm ? 0 : round), retries);
        if (!warm) runs.get(scenario.id)!.push(metrics);
        tick();
      }
    }
    for (const scenario of alternating) record(scenario, runs.get(scenario.id)!);

    for (const scenario of solo) {
      let list: Metrics[];
      if (scenario.runSeries) {
        list = await scenario.runSeries(ctx, sizes.reps, tick, retries);
      } else {
        list = [];
        for (let round = 0; round < rounds; round++) {
          const metrics = await retrying(`${scenario.id} round ${round}`, () => scenario.runOnce!(ctx, round), retries);
          if (!(sizes.warmup && round === 0)) list.push(metrics);
          tick();
        }
      }
      record(scenario, list);
    }
    progress.done();
  } finally {
    clearInterval(keepAlive);
    await store.close();
    await sql.end();
    await benchDatabaseDrop(databaseUrl);
  }

  function record(scenario: Scenario, list: Metrics[]): void {
    const summary = summarize(list);
    ctx.medians.set(scenario.id, Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, v.median])));
    const metrics = scenario.metrics.filter((m) => summary[m.key]).map((m) => ({ ...m, ...summary[m.key]! }));
    results.push({ id: scenario.id, title: scenario.title, metrics, runs: list });
    // Written after every scenario, so a run cut short still leaves what it measured.
    persist(assemble(host!, true));
  }

  function assemble(machineFacts: Machine, partial: boolean): BenchResult {
    return {
      date,
      revision: gitRevision(),
      command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      quick: args.quick,
      partial,
      machine: machineFacts,
      sizes,
      scenarios: results,
      verdicts: verdicts(results, sizes),
      retriedRepetitions: retries.count,
      wallSeconds: (performance.now() - started) / 1000,
    };
  }

  function persist(result: BenchResult): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${date}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(dir, `${date}.md`), markdown(result));
    writeFileSync(join(dir, `${date}.svg`), svgChart(result));
  }

  clearInterval(keepAlive);
  const result = assemble(await machineAfter(databaseUrl, redisUrl), false);
  persist(result);
  console.log(printable(result));
  console.log(`\nwritten: ${join(dir, date)}.{json,md,svg} (${Math.round(result.wallSeconds)} s)`);

  if (args.quick) {
    const problems = insane(results);
    if (problems.length > 0) {
      console.error(renderTable(['not sane'], problems.map((p) => [p])));
      return 1;
    }
  }
  return 0;
}

/** The commit measured, with "+ uncommitted changes" when the work tree differs (others may be editing it). */
function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

/** The machine facts once more, for the record, through the admin database (the run's is gone). */
async function machineAfter(databaseUrl: string, redisUrl: string): Promise<Machine> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const sql = createSqlClient(url.toString(), { maxConnections: 1 });
  try {
    return await machine({ sql, redisUrl });
  } finally {
    await sql.end();
  }
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  // A Redis restart under a run surfaces as rejections inside BullMQ's own promises; the
  // repetition that hit it fails and is retried (retrying), so the process must not die of them.
  process.on('unhandledRejection', (err) => console.error(`unhandled rejection: ${err instanceof Error ? err.message : String(err)}`));
  runBench(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
