/**
 * The API server process: `turnlane server [--insecure-local]`. Connects to Postgres and Redis,
 * subscribes to the commit feed, serves until SIGTERM/SIGINT.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createBatchQueue, redisConnection, resolveQueueSettings } from '../runtime/bullmq.js';
import { driverFaults, installDriverGuard, type DriverFault } from '../runtime/driver-guard.js';
import { createProducer } from '../runtime/producer.js';
import { exitOnSignals } from '../runtime/shutdown.js';
import { guardStore } from '../runtime/store-guard.js';
import { createPostgresStore } from '../store/postgres/index.js';
import { buildApp } from './app.js';
import { createApiKeyLookup } from './api-keys.js';
import { createAuthenticator, hasCredentials } from './auth.js';
import { createCommitHub } from './commit-hub.js';
import type { ServerContext } from './context.js';

export interface ServerProcessOptions {
  /** Run without credentials, bound to 127.0.0.1 only. */
  insecureLocal?: boolean;
  /** Overrides HTTP_PORT. */
  port?: number;
  config?: Config;
}

export class ServerConfigError extends Error {
  readonly code = 'SERVER_CONFIG';
}

export async function startServer(options: ServerProcessOptions = {}): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const config = options.config ?? loadConfig();
  const insecureLocal = options.insecureLocal === true;
  const credentials = { apiKeySha256: config.API_KEY_SHA256, operatorCredentials: config.OPERATOR_CREDENTIALS };
  if (!hasCredentials(credentials) && !insecureLocal) {
    throw new ServerConfigError(
      'no credentials configured: set API_KEY_SHA256 and OPERATOR_CREDENTIALS (see .env.example), or pass --insecure-local to serve without them on 127.0.0.1 only',
    );
  }
  const host = insecureLocal ? '127.0.0.1' : config.HTTP_HOST;
  const log = createLogger({ level: config.LOG_LEVEL, base: { role: 'server', pid: process.pid } });
  if (insecureLocal) log.warn('--insecure-local: no credentials are checked; bound to 127.0.0.1 only');

  const settings = resolveQueueSettings({ redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX });
  // Every store call bounded, the pool replaced when the driver wedges it (src/runtime/store-guard.ts).
  const store = guardStore({ name: 'runtime store', open: () => createPostgresStore({ databaseUrl: config.DATABASE_URL, maxConnections: config.PG_MAX_CONNECTIONS }), log });
  const redis = redisConnection(config.REDIS_URL, 'producer');
  redis.on('error', (err) => log.debug({ err }, 'producer Redis connection error'));
  // Bull Board and the queue's own blocking reads want a connection that waits for Redis.
  const queueConnection = redisConnection(config.REDIS_URL, 'worker');
  queueConnection.on('error', (err) => log.debug({ err }, 'queue Redis connection error'));
  const queue = createBatchQueue(settings, queueConnection);
  const subscriber = redisConnection(config.REDIS_URL, 'worker');
  subscriber.on('error', (err) => log.debug({ err }, 'commit feed Redis connection error'));
  const producer = createProducer({ store, queue, settings, logger: log });
  const metrics = createMetrics({
    sampleQueue: async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed', 'completed');
      return counts as Record<string, number>;
    },
  });
  const countDriverFault = (kind: DriverFault) => metrics.driverFaults.inc({ kind });
  driverFaults.on('fault', countDriverFault);
  const commits = await createCommitHub(subscriber, settings.prefix, log);
  const stops = new Set<() => void>();
  const ctx: ServerContext = {
    store,
    queue,
    producer,
    redis,
    settings,
    auth: createAuthenticator({
      ...credentials,
      sessionSecret: config.OPERATOR_SESSION_SECRET,
      insecureLocal: insecureLocal && !hasCredentials(credentials),
      lookupApiKey: createApiKeyLookup(store, log),
    }),
    commits,
    metrics,
    log,
    maxActivePerAgent: config.MAX_ACTIVE_SESSIONS_PER_AGENT,
    bullBoardReadOnly: config.BULL_BOARD_READ_ONLY,
    onClose: (stop) => void stops.add(stop),
  };
  const app = await buildApp(ctx, { bodyLimit: config.HTTP_BODY_LIMIT_BYTES });
  const address = await app.listen({ host, port: options.port ?? config.HTTP_PORT });
  log.info({ url: address }, 'server listening');
  let closed = false;
  return {
    app,
    url: address,
    async close() {
      if (closed) return;
      closed = true;
      driverFaults.off('fault', countDriverFault);
      for (const stop of stops) stop();
      await app.close();
      await commits.close();
      await queue.close();
      queueConnection.disconnect();
      redis.disconnect();
      await store.close();
    },
  };
}

/** Entry for `turnlane server`: start, report the URL (and to a forking parent over IPC), close on signals. */
export async function runServerProcess(options: ServerProcessOptions = {}): Promise<void> {
  const config = options.config ?? loadConfig();
  // Before the first connection: a Postgres restart must not end this process (src/runtime/driver-guard.ts).
  installDriverGuard(createLogger({ level: config.LOG_LEVEL, base: { role: 'server', pid: process.pid } }));
  const server = await startServer({ ...options, config });
  const log = server.app.log;
  process.send?.({ type: 'listening', url: server.url });
  exitOnSignals(() => server.close(), log as never);
}
