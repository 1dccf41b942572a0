/**
 * The worker process: `npm run worker` or `turnlane worker`. Configuration comes from the
 * environment (src/config.ts, .env.example).
 */
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../src/config.js';
import { createMetrics, observeRuntime } from '../src/metrics.js';
import { createLogger } from '../src/logger.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { createPostgresAttachmentStore } from '../src/store/postgres/attachments-content.js';
import { createWorker, defaultOwner } from '../src/runtime/worker.js';
import { driverFaults, installDriverGuard, type DriverFault } from '../src/runtime/driver-guard.js';
import { guardStore } from '../src/runtime/store-guard.js';
import { exitOnSignals } from '../src/runtime/shutdown.js';
import { toolPolicy } from '../src/runtime/session-policy.js';
import { handlerSettings, selectHandler } from './handler.js';
import { loadHandlerModule } from '../src/runtime/handler-module.js';
import { describeUrl, pingRedis, waitForDependencies } from '../src/runtime/startup.js';
import type { LeaseOwner } from '../src/store/contract.js';
import { fileURLToPath } from 'node:url';

/** The module a sandbox process loads the same handler from (workers/handler.ts, or its compiled twin). */
const HANDLER_MODULE = new URL(`./handler${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;

/** What a worker forked with IPC reports to its parent (the demo, e2e tests) when TURNLANE_REPORT_EVENTS=1. */
export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | {
      type: 'turn';
      sessionId: string;
      turnId: string;
      headRevision: number;
      fencingToken: number;
      batches: number;
      midTurn: number;
      startLatencyMs: number[];
      /** Per batch claimed at the start of the turn: failed attempts counted before this turn (thrown or interrupted ones). */
      attempts: number[];
      commitMs: number;
    }
  | { type: 'failed'; sessionId: string; batchIds: string[]; error: string; deadLettered: string[] }
  | { type: 'refused'; sessionId: string; turnId: string; code: string }
  | { type: 'takeover'; sessionId: string; fencingToken: number }
  | { type: 'driver_fault'; kind: DriverFault };

export async function runWorkerProcess(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, base: { role: 'worker', pid: process.pid } });
  // Before the first connection: a Postgres restart must not end this process (src/runtime/driver-guard.ts).
  installDriverGuard(log);
  // First: a handler module that does not load is a mistake to report now, not after a wait.
  const turns = await selectTurnHandler(config);
  const deadlineMs = storeCallDeadlineMs(config);
  const store = guardStore({
    name: 'runtime store',
    open: () => createPostgresStore({ databaseUrl: config.DATABASE_URL, maxConnections: config.PG_MAX_CONNECTIONS, idleInTransactionTimeoutMs: config.LEASE_TTL_MS }),
    deadlineMs,
    log,
  });
  const attachments = guardStore({ name: 'attachment store', open: () => createPostgresAttachmentStore({ databaseUrl: config.DATABASE_URL }), deadlineMs, log });
  // Bounded: a worker whose Postgres or Redis never answers exits with one line saying which.
  await waitForDependencies(
    [
      { name: 'Postgres', address: describeUrl(config.DATABASE_URL), probe: () => store.clock.nowMs() },
      { name: 'Redis', address: describeUrl(config.REDIS_URL), probe: () => pingRedis(config.REDIS_URL) },
    ],
    config.STARTUP_TIMEOUT_MS,
    log,
  ).catch(async (err) => {
    await Promise.all([store.close(), attachments.close()]).catch(() => {});
    throw err;
  });
  const worker = createWorker({
    store,
    handler: turns.handler,
    ...(config.TURN_SANDBOX === 'off' ? {} : { sandbox: { ...turns.sandbox, turns: config.TURN_SANDBOX, logLevel: config.LOG_LEVEL } }),
    settings: { redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX },
    concurrency: config.WORKER_CONCURRENCY,
    leaseTtlMs: config.LEASE_TTL_MS,
    maxTurnsPerLease: config.MAX_TURNS_PER_LEASE,
    maxBatchesPerTurn: config.MAX_BATCHES_PER_TURN,
    maxAttempts: config.MAX_ATTEMPTS,
    isolateSuspects: config.ISOLATE_SUSPECT_TURNS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
    rescueIntervalMs: config.RESCUE_INTERVAL_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    attachments,
    logger: log,
    owner: selectOwner(config),
    useTools: toolPolicy(store),
    ...(config.WORKER_AGENT_ID ? { agentId: config.WORKER_AGENT_ID } : {}),
  });
  exitOnSignals(async () => {
    await worker.close();
    await Promise.all([store.close(), attachments.close()]);
  }, log);
  if (process.send && config.TURNLANE_REPORT_EVENTS === '1') reportEvents(worker);
  if (config.WORKER_METRICS_PORT > 0) await serveMetrics(worker, config.HTTP_HOST, config.WORKER_METRICS_PORT, log);
  log.info({ ownerId: worker.owner.ownerId, concurrency: config.WORKER_CONCURRENCY, handler: turns.name }, 'worker started');
  const running = worker.run();
  await Promise.race([worker.ready, running]);
  send({ type: 'ready', pid: process.pid });
  await running;
}

/**
 * The turn handler and what a sandbox process loads it from: your module (`--handler`,
 * TURNLANE_HANDLER_MODULE), else the demo agent or the append-one benchmark handler.
 */
async function selectTurnHandler(config: Config) {
  if (config.TURNLANE_HANDLER_MODULE !== '') {
    const loaded = await loadHandlerModule(config.TURNLANE_HANDLER_MODULE);
    return { name: config.TURNLANE_HANDLER_MODULE, handler: loaded.handler, sandbox: { module: loaded.module, exportName: loaded.exportName } };
  }
  const settings = handlerSettings(config);
  return {
    name: settings.TURNLANE_HANDLER,
    handler: selectHandler(settings),
    sandbox: { module: HANDLER_MODULE, env: { TURNLANE_HANDLER_SETTINGS: JSON.stringify(settings) } },
  };
}

/**
 * How long one store call may go unanswered before it is given up and its pool replaced
 * (src/runtime/store-guard.ts): one lease TTL, since a call that outlives the lease serves no one,
 * and at least 5 s, so the 2 s TTLs of tests and chaos runs do not give up calls that are merely
 * slow on a loaded 2-core machine (store calls take milliseconds there).
 */
function storeCallDeadlineMs(config: Config): number {
  return Math.max(config.LEASE_TTL_MS, 5_000);
}


/** An opaque owner cannot be proven dead: a same-host takeover then waits for lease expiry, as across hosts. */
function selectOwner(config: Config): LeaseOwner {
  const owner = defaultOwner();
  return config.TURNLANE_OWNER_LIVENESS === 'opaque' ? { ...owner, liveness: { kind: 'opaque' } } : owner;
}

/** The worker's own Prometheus endpoint: turns, commits, claims, takeovers, conflicts, dead letters. */
async function serveMetrics(worker: ReturnType<typeof createWorker>, host: string, port: number, log: Logger): Promise<void> {
  const metrics = createMetrics();
  observeRuntime(metrics, worker.events);
  driverFaults.on('fault', (kind) => metrics.driverFaults.inc({ kind }));
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err) => {
        log.warn({ err }, 'metrics scrape failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  server.unref();
  log.info({ host, port }, 'worker metrics at /metrics');
}

/** Reports to the parent; a parent that went away must not take the worker down with it. */
function send(message: WorkerMessage): void {
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, () => {});
}

function reportEvents(worker: ReturnType<typeof createWorker>): void {
  const pending = new Map<string, { startLatencyMs: number[]; attempts: number[]; midTurn: number; batches: number }>();
  worker.events.on('turn_started', ({ turnId, claim }) => {
    pending.set(turnId, {
      startLatencyMs: claim.batches.map((b) => claim.claimedAtMs - b.enqueuedAtMs),
      attempts: claim.batches.map((b) => b.attempts),
      midTurn: 0,
      batches: claim.batches.length,
    });
  });
  worker.events.on('checkpoint_delivery', ({ turnId, claim }) => {
    const turn = pending.get(turnId);
    if (turn) {
      turn.midTurn += claim.batches.length;
    }
  });
  worker.events.on('turn_committed', (e) => {
    const turn = pending.get(e.turnId) ?? { startLatencyMs: [], attempts: [], midTurn: 0, batches: e.batchIds.length };
    pending.delete(e.turnId);
    send({
      type: 'turn',
      sessionId: e.sessionId,
      turnId: e.turnId,
      headRevision: e.headRevision,
      fencingToken: e.fencingToken,
      batches: turn.batches,
      midTurn: turn.midTurn,
      startLatencyMs: turn.startLatencyMs,
      attempts: turn.attempts,
      commitMs: e.commitMs,
    });
  });
  worker.events.on('turn_failed', (e) => {
    pending.delete(e.turnId);
    send({ type: 'failed', sessionId: e.sessionId, batchIds: e.batchIds, error: e.error, deadLettered: e.deadLettered });
  });
  worker.events.on('commit_refused', (e) => {
    pending.delete(e.turnId);
    send({ type: 'refused', ...e });
  });
  worker.events.on('lease_takeover', (e) => send({ type: 'takeover', ...e }));
  driverFaults.on('fault', (kind) => send({ type: 'driver_fault', kind }));
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  runWorkerProcess().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
