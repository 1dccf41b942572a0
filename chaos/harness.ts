/**
 * One chaos run's world: its own Postgres database (migrated, dropped at the end), its own BullMQ
 * prefix on its own Redis database index, a producer in this process, real worker processes
 * (workers/main.ts, forked with IPC) whose turn reports form the run's history, and a seeded
 * random source for the fault schedule.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { migrate } from '../db/migrate.js';
import { dropDatabase } from '../db/databases.js';
import { createBatchQueue, redisConnection, type BatchJobData, type QueueSettings } from '../src/runtime/bullmq.js';
import { createProducer, type Producer } from '../src/runtime/producer.js';
import type { QueuedWorkBatch, RuntimeStore } from '../src/store/contract.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import type { WorkerMessage } from '../workers/main.js';

const WORKER_ENTRY = fileURLToPath(new URL('../workers/main.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

let compiled: Promise<string> | undefined;

/**
 * The worker entry compiled to JavaScript (tsc -p tsconfig.build.json into a fresh folder under
 * node_modules/.cache, so the project's packages resolve; once per chaos run): what a deployment runs. Started with tsx, a worker spent about 0.9 CPU-s
 * compiling before it was ready (0.4 compiled), and scenarios that restart workers often (poison:
 * 15 restarts) measured the compiler more than the runtime.
 */
function compiledWorkerEntry(): Promise<string> {
  compiled ??= (async () => {
    const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const outDir = mkdtempSync(join(cache, 'turnlane-chaos-dist-'));
    const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: PROJECT_ROOT }, (err, stdout) =>
        err ? reject(new Error(`compiling the worker failed: ${stdout || err.message}`)) : resolve(),
      );
    });
    return join(outDir, 'workers', 'main.js');
  })();
  return compiled;
}
const CLOCK_SKEW_PRELOAD = fileURLToPath(new URL('./clock-skew-preload.ts', import.meta.url));

export const ADMIN_URL = process.env.CHAOS_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** A Redis database index of its own, so flushes touch no other user of the local Redis. */
export const REDIS_URL = process.env.CHAOS_REDIS_URL ?? 'redis://127.0.0.1:6379/11';

/** mulberry32: a small seeded PRNG, so a fault schedule is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A report from a worker, stamped with the worker that sent it and when it arrived. */
export type HistoryEntry = WorkerMessage & { worker: number; pid: number; atMs: number };

export interface ChaosWorker {
  index: number;
  child: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

export interface WorldOptions {
  name: string;
  seed: number;
  /** Worker environment on top of the defaults (see workerEnv). */
  env?: Record<string, string>;
}

export class ChaosWorld {
  readonly dbName: string;
  readonly dbUrl: string;
  readonly random: () => number;
  readonly history: HistoryEntry[] = [];
  readonly workers: ChaosWorker[] = [];
  /** Every batch the producer got back from an enqueue: the accepted input of the run. */
  readonly accepted = new Map<string, QueuedWorkBatch>();
  readonly faults: Array<{ atMs: number; fault: string }> = [];
  readonly startedAt = Date.now();
  store!: RuntimeStore;
  redis!: Redis;
  queue!: Queue<BatchJobData>;
  producer!: Producer;
  settings!: QueueSettings;
  private workerSerial = 0;
  /** Every worker process forked, ready or not: stopWorkers ends them all (a replacement still starting too). */
  private readonly forked: Array<{ child: ChildProcess; exited: Promise<unknown> }> = [];

  constructor(readonly options: WorldOptions) {
    this.dbName = `turnlane_chaos_${options.name.replace(/[^a-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
    const url = new URL(ADMIN_URL);
    url.pathname = `/${this.dbName}`;
    this.dbUrl = url.toString();
    this.random = seededRandom(options.seed);
  }

  async open(): Promise<void> {
    await migrate(this.dbUrl);
    this.store = createPostgresStore({ databaseUrl: this.dbUrl, maxConnections: 4 });
    this.settings = { redisUrl: REDIS_URL, queueName: 'turnlane.turns', prefix: `{chaos-${randomBytes(3).toString('hex')}}`, jobAttempts: 8, backoffMs: 200 };
    this.redis = redisConnection(REDIS_URL, 'worker');
    // Redis restarts are part of the chaos: the connection reconnects; its errors are expected.
    this.redis.on('error', () => {});
    this.queue = createBatchQueue(this.settings, this.redis);
    this.producer = createProducer({ store: this.store, queue: this.queue, settings: this.settings });
  }

  elapsed(): number {
    return Date.now() - this.startedAt;
  }

  note(fault: string): void {
    this.faults.push({ atMs: this.elapsed(), fault });
  }

  workerEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.dbUrl,
      REDIS_URL,
      TURNLANE_PREFIX: this.settings.prefix,
      PG_MAX_CONNECTIONS: '6',
      WORKER_CONCURRENCY: '8',
      LEASE_TTL_MS: '2000',
      SHUTDOWN_GRACE_MS: '2000',
      RECONCILE_INTERVAL_MS: '1000',
      STALLED_INTERVAL_MS: '1000',
      DEMO_THINK_MS: '5',
      MAX_ATTEMPTS: '3',
      LOG_LEVEL: 'fatal',
      ...this.options.env,
      ...extra,
    };
  }

  /** Forks one worker process and waits for its ready report. `clockSkewMs` shifts its Date.now. */
  async startWorker(options: { env?: Record<string, string>; clockSkewMs?: number } = {}): Promise<ChaosWorker> {
    const index = this.workerSerial++;
    // The clock-skew preload is TypeScript: those workers run under tsx; every other one compiled.
    const execArgv = options.clockSkewMs ? ['--import', 'tsx', '--import', CLOCK_SKEW_PRELOAD] : [];
    const entry = options.clockSkewMs ? WORKER_ENTRY : await compiledWorkerEntry();
    const child = fork(entry, [], {
      execArgv,
      env: {
        ...process.env,
        ...this.workerEnv(options.env),
        TURNLANE_REPORT_EVENTS: '1',
        ...(options.clockSkewMs ? { CHAOS_CLOCK_SKEW_MS: String(options.clockSkewMs) } : {}),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.forked.push({ child, exited });
    const worker: ChaosWorker = { index, child, pid: child.pid!, exited, alive: () => child.exitCode === null && child.signalCode === null };
    child.on('message', (m: WorkerMessage) => this.history.push({ ...m, worker: index, pid: worker.pid, atMs: this.elapsed() }));
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type === 'ready') {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
      void exited.then(({ code, signal }) => reject(new Error(`worker exited before ready (code ${code}, signal ${signal})`)));
    });
    this.workers.push(worker);
    return worker;
  }

  /**
   * Keeps `count` workers alive, as a process manager would, until the returned stop() is called;
   * counts the workers that exited on their own (crashed) and their exit codes.
   */
  supervise(count: number): { stop(): Promise<void>; crashes: Array<{ worker: number; code: number | null; signal: string | null }> } {
    const crashes: Array<{ worker: number; code: number | null; signal: string | null }> = [];
    const seen = new Set<number>();
    let running = true;
    const loop = (async () => {
      while (running) {
        await sleep(200);
        for (const w of this.workers) {
          if (w.alive() || seen.has(w.index)) continue;
          seen.add(w.index);
          crashes.push({ worker: w.index, code: w.child.exitCode, signal: w.child.signalCode });
          this.note(`worker ${w.index} exited (code ${w.child.exitCode}, signal ${w.child.signalCode})`);
        }
        while (running && this.liveWorkers().length < count) await this.startWorker().catch(() => sleep(500));
      }
    })();
    return {
      crashes,
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  liveWorkers(): ChaosWorker[] {
    return this.workers.filter((w) => w.alive());
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }

  /** Enqueues one text input with a source key (so a retried enqueue is idempotent) and records it. */
  async enqueue(sessionId: string, text: string, sourceKey: string): Promise<QueuedWorkBatch> {
    for (let attempt = 0; ; attempt++) {
      try {
        const batch = await this.producer.enqueueTurnInput({ sessionId, text, sourceKey });
        this.accepted.set(batch.batchId, batch);
        return batch;
      } catch (err) {
        // Postgres may be restarting: the producer answers 503-style; retry like a client would.
        if (attempt > 200) throw err;
        await sleep(100);
      }
    }
  }

  /** Enqueues `perSession` inputs to each session, round by round, 25 calls at a time; each text is its own source key. */
  async enqueueRounds(sessions: string[], perSession: number, text: (s: string, i: number) => string, pauseMs = 0): Promise<void> {
    for (let i = 0; i < perSession; i++) {
      for (let k = 0; k < sessions.length; k += 25) {
        await Promise.all(sessions.slice(k, k + 25).map((s) => this.enqueue(s, text(s, i), text(s, i))));
      }
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }

  /** Waits until no accepted batch is left in the queue, or the timeout. Returns whether it drained. */
  async drained(timeoutMs: number): Promise<boolean> {
    const sessions = [...new Set([...this.accepted.values()].map((b) => b.sessionId))];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        let left = 0;
        for (const s of sessions) left += (await this.store.queue.list(s)).length;
        if (left === 0) return true;
      } catch {
        // Postgres restarting: look again.
      }
      await sleep(500);
    }
    return false;
  }

  async stopWorkers(): Promise<void> {
    const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;
    await Promise.all(
      this.forked.map(async ({ child, exited }) => {
        if (!alive(child)) return;
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => alive(child) && child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  async close(): Promise<void> {
    await this.stopWorkers();
    // Each step is bounded: after a Postgres restart, postgres.js's end() can wait forever on a
    // connection that died with a write buffered, and with nothing else pending Node then exits
    // silently in the middle of the run (it did, twice).
    const bounded = (work: Promise<unknown>) => Promise.race([work.catch(() => {}), sleep(5000)]);
    await bounded(this.queue.obliterate({ force: true }));
    await bounded(this.queue.close());
    this.redis.disconnect();
    await bounded(this.store.close());
    if (!process.env.CHAOS_KEEP_DATABASE) await dropDatabase(ADMIN_URL, this.dbName).catch(() => {});
  }
}
