/**
 * How turnlane uses BullMQ: one job per queued batch, `jobId` = batch id, ids-only data.
 * BullMQ delivers; Postgres decides. Everything here is configuration and naming.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/** Job data: ids only. Payloads stay in Postgres (no user content in Redis; bounded memory). */
export interface BatchJobData {
  sessionId: string;
  /** The batch this job delivers; '' on a session wake-up job. */
  batchId: string;
  /** The batch's availability time as enqueued (0: at once); absent on jobs of older producers. */
  availableAtMs?: number;
  /**
   * A session wake-up (src/runtime/worker.ts): added when a drain stopped while the session may
   * still have work (turn limit, a failed turn's backoff, shutdown, a lost lease), because jobs
   * that found the session held have already finished.
   */
  wake?: 'continue' | 'retry';
}

export const JOB_NAME = 'batch';
export const WAKE_JOB_NAME = 'wake';

export interface QueueSettings {
  /** Redis URL. Default redis://127.0.0.1:6379. */
  redisUrl: string;
  /** BullMQ queue name. Default 'turnlane.turns'. */
  queueName: string;
  /**
   * Redis key prefix. Default '{turnlane}': the braces are a Redis Cluster hash tag, so every key
   * of the queue hashes to one slot (BullMQ's Lua scripts touch several keys at once).
   */
  prefix: string;
  /**
   * BullMQ attempts per job. Postgres counts failed turns per batch and dead-letters at
   * `maxAttempts`; BullMQ's own budget is larger so Postgres decides first. Default 8.
   */
  jobAttempts: number;
  /** First retry delay of BullMQ's exponential backoff, in ms. Default 500. */
  backoffMs: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  redisUrl: 'redis://127.0.0.1:6379',
  queueName: 'turnlane.turns',
  prefix: '{turnlane}',
  jobAttempts: 8,
  backoffMs: 500,
};

export function resolveQueueSettings(partial: Partial<QueueSettings> = {}): QueueSettings {
  return { ...DEFAULT_QUEUE_SETTINGS, ...partial };
}

/**
 * Job options for a batch. Completed jobs are trimmed to the last 1,000 (an hour at most) and
 * failed ones to 10,000 (a day), so Redis does not grow without bound while Bull Board still
 * shows recent history.
 */
export function batchJobOptions(settings: QueueSettings, batchId: string, delayMs: number): JobsOptions {
  return {
    jobId: batchId,
    delay: Math.max(0, Math.ceil(delayMs)),
    attempts: settings.jobAttempts,
    backoff: { type: 'exponential', delay: settings.backoffMs },
    removeOnComplete: { count: 1000, age: 3600 },
    removeOnFail: { count: 10_000, age: 86_400 },
  };
}

/**
 * Job options for a session wake-up: no id of its own (each is needed once), one attempt (a
 * failed drain adds the next wake-up itself), removed when done.
 */
export function wakeJobOptions(delayMs: number): JobsOptions {
  return { delay: Math.max(0, Math.ceil(delayMs)), attempts: 1, removeOnComplete: true, removeOnFail: { count: 1000, age: 3600 } };
}

/** A Redis connection for a role. Workers wait forever for Redis (BullMQ requires `maxRetriesPerRequest: null`); producers fail fast. */
export function redisConnection(url: string, role: 'worker' | 'producer'): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  return new Redis(url, { ...options, lazyConnect: false });
}

/**
 * The queue of batch jobs on `connection`. BullMQ prints an 'error' event that nobody listens to
 * as a raw multi-line stack trace on stderr, once per reconnect attempt while Redis is away
 * (134 of them from one CLI enqueue), which breaks JSON log pipelines; so every queue made here
 * listens: at debug level on `log` when given, else silently (whoever owns the connection reports
 * the outage: a worker's BullMQ Worker, /readyz, the producer's publish warnings).
 */
export function createBatchQueue(settings: QueueSettings, connection: Redis, log?: Logger): Queue<BatchJobData> {
  const queue = new Queue<BatchJobData>(settings.queueName, { connection, prefix: settings.prefix });
  queue.on('error', (err) => log?.debug({ err }, 'queue Redis connection error'));
  return queue;
}

export class RedisEvictionPolicyError extends Error {
  readonly code = 'REDIS_EVICTION_POLICY';
}

/** BullMQ needs Redis never to evict keys; refuse to run otherwise, saying how to fix it. */
export async function assertNoEviction(connection: Redis): Promise<void> {
  const reply = (await connection.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== undefined && policy !== 'noeviction') {
    throw new RedisEvictionPolicyError(
      `Redis maxmemory-policy is '${policy}', but BullMQ needs 'noeviction' or jobs can vanish. ` +
        `Fix: redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf).`,
    );
  }
}
