/** What store commands connect to, from the configuration (src/config.ts): Postgres and, when needed, the BullMQ queue. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import type { BatchJobData, QueueSettings } from '../runtime/bullmq.js';
import type { Producer } from '../runtime/producer.js';
import type { RuntimeStore } from '../store/contract.js';
import { createPostgresStore } from '../store/postgres/index.js';

export interface StoreConnection {
  config: Config;
  store: RuntimeStore;
  close(): Promise<void>;
}

export interface QueueConnection extends StoreConnection {
  settings: QueueSettings;
  redis: Redis;
  queue: Queue<BatchJobData>;
  producer: Producer;
}

export function connectStore(): StoreConnection {
  const config = loadConfig();
  // A CLI command needs one or two statements at a time.
  const store = createPostgresStore({ databaseUrl: config.DATABASE_URL, maxConnections: 2 });
  return { config, store, close: () => store.close() };
}

/** BullMQ is loaded only by the commands that need it: it is most of a CLI start's import time. */
export async function connectQueue(): Promise<QueueConnection> {
  const [{ createBatchQueue, redisConnection, resolveQueueSettings }, { createProducer }] = await Promise.all([
    import('../runtime/bullmq.js'),
    import('../runtime/producer.js'),
  ]);
  const base = connectStore();
  const { config } = base;
  const settings = resolveQueueSettings({ redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX });
  const redis = redisConnection(config.REDIS_URL, 'producer');
  redis.on('error', () => {});
  const queue = createBatchQueue(settings, redis);
  const producer = createProducer({ store: base.store, queue, settings });
  return {
    ...base,
    settings,
    redis,
    queue,
    producer,
    async close() {
      // Disconnect first: with Redis away, closing the queue would wait for a connection that never comes.
      redis.disconnect();
      await queue.close().catch(() => {});
      await base.close();
    },
  };
}

/** Runs `body` with a connection and always closes it. */
export async function withConnection<C extends StoreConnection, T>(connect: () => C | Promise<C>, body: (c: C) => Promise<T>): Promise<T> {
  const connection = await connect();
  try {
    return await body(connection);
  } finally {
    await connection.close();
  }
}
