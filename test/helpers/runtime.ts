/**
 * A runtime test namespace: its own database (copied from the migrated template), its own
 * BullMQ prefix, a store and a producer in the test process, and the environment that points
 * worker processes at the same namespace.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createBatchQueue, redisConnection, type BatchJobData, type QueueSettings } from '../../src/runtime/bullmq.js';
import { createProducer, type Producer } from '../../src/runtime/producer.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RuntimeFixture {
  db: TestDatabase;
  store: RuntimeStore;
  redis: Redis;
  queue: Queue<BatchJobData>;
  producer: Producer;
  settings: QueueSettings;
  /** Environment for worker processes of this namespace. */
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function createRuntimeFixture(options: { redisUrl?: string } = {}): Promise<RuntimeFixture> {
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const db = await createTestDatabase();
  const store = createPostgresStore({ databaseUrl: db.url, maxConnections: 4 });
  const settings: QueueSettings = {
    redisUrl,
    queueName: 'turnlane.turns',
    prefix: `{tl-test-${randomBytes(4).toString('hex')}}`,
    jobAttempts: 8,
    backoffMs: 200,
  };
  const redis = redisConnection(redisUrl, 'worker');
  const queue = createBatchQueue(settings, redis);
  const producer = createProducer({ store, queue, settings });
  return {
    db,
    store,
    redis,
    queue,
    producer,
    settings,
    env: (extra = {}) => ({
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      TURNLANE_PREFIX: settings.prefix,
      PG_MAX_CONNECTIONS: '6',
      WORKER_CONCURRENCY: '8',
      LEASE_TTL_MS: '3000',
      SHUTDOWN_GRACE_MS: '2000',
      RECONCILE_INTERVAL_MS: '1000',
      STALLED_INTERVAL_MS: '1000',
      DEMO_THINK_MS: '20',
      ...extra,
    }),
    async cleanup() {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      redis.disconnect();
      await store.close();
      await db.drop();
    },
  };
}

/** Resolves once no batch of `sessionIds` is left in the queue. */
export async function queueIsEmpty(store: RuntimeStore, sessionIds: string[]): Promise<boolean> {
  for (const sessionId of sessionIds) if ((await store.queue.list(sessionId)).length > 0) return false;
  return true;
}

/** A session's transcript as the demo agent writes it: user texts in order, assistant replies, head revision. */
export async function transcriptOf(store: RuntimeStore, sessionId: string): Promise<{ users: string[]; assistants: number; head: number }> {
  const read = await store.sessions.load(sessionId, { kind: 'full_graph' });
  const nodes = read?.graph.nodes ?? [];
  const users = nodes.flatMap((n) => (n.payload.kind === 'message' && n.payload.role === 'user' ? [String((n.payload.parts[0] as { text: string }).text)] : []));
  const assistants = nodes.filter((n) => n.payload.kind === 'message' && n.payload.role === 'assistant').length;
  return { users, assistants, head: read?.headRevision ?? 0 };
}
