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
import { describeUrl, pingRedis, waitForDependencies } from '../runtime/startup.js';
import { createPostgresStore } from '../store/postgres/index.js';
import { buildApp } from './app.js';
import { createApiKeyLookup } from './api-keys.js';
import { createAuthenticator, hasCredentials, legacyOperatorUsers } from './auth.js';
import { createLoginThrottle } from './login-throttle.js';
import { createCommitHub } from './commit-hub.js';
import type { ServerContext } from './context.js';
import { createStreamGate } from './stream-limits.js';

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
  for (const user of legacyOperatorUsers(config.OPERATOR_CREDENTIALS)) {
    log.warn({ user }, 'OPERATOR_CREDENTIALS: an unsalted SHA-256 digest is deprecated and accepted for this release only; replace it with the output of `turnlane hash-password`');
  }

  const settings = resolveQueueSettings({ redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX });
  // Every store call bounded, the pool replaced when the driver wedges it (src/runtime/store-guard.ts).
  const store = guardStore({ name: 'runtime store', open: () =>
      createPostgresStore({
        databaseUrl: config.DATABASE_URL,
        maxConnections: config.PG_MAX_CONNECTIONS,
        limits: { maxQueuedBatchesPerSession: config.MAX_QUEUED_BATCHES_PER_SESSION },
      }),
    log,
  });
  // Postgres is the truth: without it at start the server exits, after a bounded, logged wait.
  // Redis is only delivery: the server listens without it (enqueue answers with delivery
  // pending, /readyz says 503) and connects when it comes.
  await waitForDependencies([{ name: 'Postgres', address: describeUrl(config.DATABASE_URL), probe: () => store.clock.nowMs() }], config.STARTUP_TIMEOUT_MS, log).catch(
    async (err) => {
      await store.close().catch(() => {});
      throw err;
    },
  );
  const redis = redisConnection(config.REDIS_URL, 'producer');
  redis.on('error', (err) => log.debug({ err }, 'producer Redis connection error'));
  // Bull Board and the queue's own blocking reads want a connection that waits for Redis.
  const queueConnection = redisConnection(config.REDIS_URL, 'worker');
  queueConnection.on('error', (err) => log.debug({ err }, 'queue Redis connection error'));
  const queue = createBatchQueue(settings, queueConnection, log);
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
      loginThrottle: createLoginThrottle({
        perUser: config.OPERATOR_LOGIN_FAILURES_PER_USER,
        perAddress: config.OPERATOR_LOGIN_FAILURES_PER_ADDRESS,
        windowMs: config.OPERATOR_LOGIN_WINDOW_MS,
      }),
      lookupApiKey: createApiKeyLookup(store, log),
    }),
    commits,
    metrics,
    log,
    maxActivePerAgent: config.MAX_ACTIVE_SESSIONS_PER_AGENT,
    bullBoardReadOnly: config.BULL_BOARD_READ_ONLY,
    onClose: (stop) => {
      stops.add(stop);
      return () => void stops.delete(stop);
    },
    streams: createStreamGate({ perCaller: config.EVENT_STREAMS_PER_CALLER, perServer: config.EVENT_STREAMS_PER_SERVER }),
  };
  const app = await buildApp(ctx, {
    bodyLimit: config.HTTP_BODY_LIMIT_BYTES,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: config.HTTP_CONNECTION_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    trustedProxies: config.TRUSTED_PROXIES,
  });
  let address: string;
  try {
    address = await app.listen({ host, port: options.port ?? config.HTTP_PORT });
  } catch (err) {
    // A busy or forbidden port: say which, and let the process end (bin/turnlane.mjs exits on
    // failure). Nothing here is awaited: closing a queue whose connection is still starting
    // waited for it now and then, and the process hung instead of exiting.
    void commits.close();
    void queue.close().catch(() => {});
    queueConnection.disconnect();
    redis.disconnect();
    void store.close().catch(() => {});
    throw err;
  }
  log.info({ url: address }, 'server listening');
  pingRedis(config.REDIS_URL).catch((err: unknown) => log.warn({ err }, 'Redis does not answer: enqueues are accepted with delivery pending, /readyz answers 503, until it does'));
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
