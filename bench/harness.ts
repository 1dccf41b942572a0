/**
 * What every scenario shares: the run's database, store, Redis prefix and queues; the shape of a
 * scenario and of its measurements; median and min–max over repetitions; waiting for a count.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Sql } from '../db/client.js';
import { createBatchQueue, redisConnection } from '../src/runtime/bullmq.js';
import { createProducer, type Producer, type PublishableBatch } from '../src/runtime/producer.js';
import type { RuntimeStore } from '../src/store/contract.js';
import { benchBatchId, benchSessionId } from '../src/store/postgres/bench-seed.js';
import type { BatchJobData } from '../src/runtime/bullmq.js';

export type Metrics = Record<string, number>;

export interface MetricSpec {
  key: string;
  label: string;
  unit: string;
  /** Which direction is better, for the chart and the verdicts. */
  better: 'higher' | 'lower';
}

/** Sizes of the workloads: the full run, or `--quick` (every scenario small, under 2 minutes in all). */
export interface Sizes {
  reps: number;
  warmup: boolean;
  sessions: number;
  perSession: number;
  workers: number;
  concurrency: number;
  /** P1's measuring window. */
  ceilingMs: number;
  /** P2's job count. */
  noopJobs: number;
  /** P6's arrival window per load. */
  openLoopMs: number;
  /** P7: queued batches for claim latency, claims sampled per repetition, sessions for throughput, its window. */
  growthQueued: number[];
  growthClaims: number;
  growthSessions: number[];
  growthInputs: number;
  growthWindowMs: number;
  /** P8: sessions held by the killed worker; lease TTL. */
  takeoverSessions: number;
  leaseTtlMs: number;
  /** P9, agent-shaped load: sessions, worker processes × job slots, simulated model time per turn, arrivals/s, arrival window. */
  agentSessions: number;
  agentWorkers: number;
  agentConcurrency: number;
  agentTurnMs: number;
  agentRate: number;
  agentWindowMs: number;
  /** P9 on a PostgreSQL of its own with pg_stat_statements (statement counts); ~10 s to set up, so not in --quick. */
  agentOwnPostgres: boolean;
  /** P10, the client's view: open event streams (one session each), offered inputs/s, arrival window per rate. */
  clientStreams: number;
  clientRates: number[];
  clientWindowMs: number;
}

export const FULL: Sizes = {
  reps: 5,
  warmup: true,
  sessions: 1000,
  perSession: 10,
  workers: 4,
  concurrency: 16,
  ceilingMs: 8000,
  noopJobs: 20_000,
  openLoopMs: 10_000,
  growthQueued: [1_000, 100_000, 1_000_000],
  growthClaims: 1000,
  growthSessions: [10, 1_000, 100_000],
  growthInputs: 10_000,
  growthWindowMs: 8000,
  takeoverSessions: 50,
  leaseTtlMs: 15_000,
  agentSessions: 2000,
  agentWorkers: 4,
  agentConcurrency: 500,
  agentTurnMs: 1000,
  // Each session sends about every 10 s (2,000 sessions / 200 per s): ~200 turns of 1 s in flight,
  // about 1 in 10 inputs arriving while its session's turn runs (the checkpoint's case).
  agentRate: 200,
  agentWindowMs: 30_000,
  agentOwnPostgres: true,
  clientStreams: 200,
  clientRates: [100, 250],
  clientWindowMs: 10_000,
};

export const QUICK: Sizes = {
  reps: 1,
  warmup: false,
  sessions: 50,
  perSession: 4,
  workers: 2,
  concurrency: 8,
  ceilingMs: 1000,
  noopJobs: 500,
  openLoopMs: 1500,
  growthQueued: [1_000, 5_000],
  growthClaims: 50,
  growthSessions: [5, 200],
  growthInputs: 2_000,
  growthWindowMs: 1000,
  takeoverSessions: 5,
  leaseTtlMs: 3000,
  agentSessions: 100,
  agentWorkers: 1,
  agentConcurrency: 50,
  agentTurnMs: 200,
  agentRate: 40,
  agentWindowMs: 1000,
  agentOwnPostgres: false,
  clientStreams: 20,
  clientRates: [20, 50],
  clientWindowMs: 1000,
};

export interface BenchContext {
  sizes: Sizes;
  quick: boolean;
  databaseUrl: string;
  redisUrl: string;
  /** The run's own Redis key prefix (a hash tag), never the demo's. */
  prefix: string;
  sql: Sql;
  store: RuntimeStore;
  /** Medians of scenarios already finished in this invocation (P6 reads P4s's rate). */
  medians: Map<string, Metrics>;
  /** A fresh name for one repetition's sessions, queue and jobs. */
  tag(what: string): string;
}

export interface Scenario {
  id: string;
  title: string;
  metrics: MetricSpec[];
  /**
   * One measurement. `rep` 0 is the warm-up (its numbers are dropped). Scenarios that share a
   * run alternate: every system's repetition r runs before any system's r + 1.
   */
  runOnce?(ctx: BenchContext, rep: number): Promise<Metrics>;
  /** Scenarios with expensive setup per size run their repetitions themselves. */
  runSeries?(ctx: BenchContext, reps: number, onRep: () => void, retries: { count: number }): Promise<Metrics[]>;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(runs: Metrics[]): Record<string, Summary> {
  const keys = new Set(runs.flatMap((r) => Object.keys(r)));
  const out: Record<string, Summary> = {};
  for (const key of keys) {
    const values = runs.map((r) => r[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    out[key] = { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
  }
  return out;
}

/** A BullMQ queue and a producer of this run (own queue name under the run's prefix). */
export interface RunQueue {
  queue: Queue<BatchJobData>;
  producer: Producer;
  /** Publishes the jobs of bulk-loaded batches in enqueue order, 1,000 per addBulk. */
  publishSeeded(prefix: string, sessions: number, perSession: number): Promise<void>;
  /** Removes the queue's keys and closes it. */
  close(): Promise<void>;
}

/** `store`: the producer's store (default the run's; P9 enqueues into a Postgres of its own). */
export function runQueue(ctx: BenchContext, queueName: string, store: RuntimeStore = ctx.store): RunQueue {
  const connection: Redis = redisConnection(ctx.redisUrl, 'worker');
  const settings = { redisUrl: ctx.redisUrl, queueName, prefix: ctx.prefix };
  const queue = createBatchQueue({ ...settings, jobAttempts: 8, backoffMs: 500 }, connection);
  const producer = createProducer({ store, queue, settings });
  return {
    queue,
    producer,
    async publishSeeded(prefix, sessions, perSession) {
      let chunk: PublishableBatch[] = [];
      for (let n = 0; n < perSession; n++) {
        for (let s = 0; s < sessions; s++) {
          chunk.push({ batchId: benchBatchId(prefix, s, n), sessionId: benchSessionId(prefix, s), availableAtMs: 0, status: 'queued' });
          if (chunk.length === 1000) {
            await producer.publish(chunk);
            chunk = [];
          }
        }
      }
      if (chunk.length > 0) await producer.publish(chunk);
      if (producer.stats.publishFailures > 0) throw new Error(`${producer.stats.publishFailures} jobs could not be added to Redis`);
    },
    async close() {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      connection.disconnect();
    },
  };
}

/** Resolves when `count()` reaches `target`, or rejects after `timeoutMs` saying how far it got. */
export async function waitFor(what: string, count: () => number, target: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (count() < target) {
    if (performance.now() > deadline) throw new Error(`${what}: ${count()} of ${target} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Throughput per second from a count and milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/**
 * Runs one measurement, again (up to `attempts` times) if it fails: the machine is shared, and a
 * Redis or Postgres restart under a repetition spoils that repetition, not the whole run. Every
 * retry is printed and counted in `retries`.
 */
export async function retrying<T>(label: string, body: () => Promise<T>, retries: { count: number }, attempts = 3, timeoutMs = 15 * 60_000): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let timer: NodeJS.Timeout | undefined;
    try {
      // A query lost in a Postgres restart can leave a promise that never settles: time it out.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result after ${timeoutMs / 60_000} min`)), timeoutMs);
      });
      return await Promise.race([body(), timeout]);
    } catch (err) {
      if (attempt >= attempts) throw err;
      retries.count++;
      console.error(`\n${label}: attempt ${attempt} failed (${err instanceof Error ? err.message : String(err)}); retrying in 3 s`);
      await sleep(3000);
    } finally {
      clearTimeout(timer);
    }
  }
}
