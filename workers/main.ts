/**
 * The worker process: `npm run worker` or `turnlane worker`. Configuration comes from the
 * environment (src/config.ts, .env.example).
 */
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { createPostgresAttachmentStore } from '../src/store/postgres/attachments-content.js';
import { createWorker, defaultOwner } from '../src/runtime/worker.js';
import { exitOnSignals } from '../src/runtime/shutdown.js';
import { toolPolicy } from '../src/runtime/session-policy.js';
import { createDemoAgent } from './demo-agent.js';
import { createAppendOneHandler } from './append-one.js';
import type { TurnHandler } from '../src/runtime/turn.js';
import type { LeaseOwner } from '../src/store/contract.js';
import { fileURLToPath } from 'node:url';

/** What a worker forked with IPC reports to its parent (the demo, e2e tests) when TURNLANE_REPORT_EVENTS=1. */
export type WorkerMessage =
  | { type: 'ready'; pid: number }
  | { type: 'turn'; sessionId: string; turnId: string; headRevision: number; fencingToken: number; batches: number; midTurn: number; startLatencyMs: number[]; commitMs: number }
  | { type: 'failed'; sessionId: string; batchIds: string[]; error: string; deadLettered: string[] }
  | { type: 'refused'; sessionId: string; turnId: string; code: string }
  | { type: 'takeover'; sessionId: string; fencingToken: number };

export async function runWorkerProcess(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, base: { role: 'worker', pid: process.pid } });
  const store = createPostgresStore({ databaseUrl: config.DATABASE_URL, maxConnections: config.PG_MAX_CONNECTIONS });
  const worker = createWorker({
    store,
    handler: selectHandler(config.DEMO_THINK_MS),
    settings: { redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX },
    concurrency: config.WORKER_CONCURRENCY,
    leaseTtlMs: config.LEASE_TTL_MS,
    maxTurnsPerLease: config.MAX_TURNS_PER_LEASE,
    maxBatchesPerTurn: config.MAX_BATCHES_PER_TURN,
    maxAttempts: config.MAX_ATTEMPTS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    attachments: createPostgresAttachmentStore({ databaseUrl: config.DATABASE_URL }),
    logger: log,
    owner: selectOwner(),
    useTools: toolPolicy(store),
  });
  exitOnSignals(async () => {
    await worker.close();
    await store.close();
  }, log);
  if (process.send && process.env.TURNLANE_REPORT_EVENTS === '1') reportEvents(worker);
  log.info({ ownerId: worker.owner.ownerId, concurrency: config.WORKER_CONCURRENCY }, 'worker started');
  send({ type: 'ready', pid: process.pid });
  await worker.run();
}

/**
 * Benchmark knobs, read here like TURNLANE_REPORT_EVENTS (they exist for bench/ and tests, not for
 * deployments): TURNLANE_HANDLER=append-one runs workers/append-one.ts instead of the demo agent,
 * holding each turn TURNLANE_HANDLER_HOLD_MS (default 0); TURNLANE_OWNER_LIVENESS=opaque makes this
 * process a lease owner whose liveness nobody can check, like a worker on another host.
 */
function selectHandler(thinkMs: number): TurnHandler {
  if (process.env.TURNLANE_HANDLER === 'append-one') return createAppendOneHandler({ holdMs: Number(process.env.TURNLANE_HANDLER_HOLD_MS ?? 0) });
  return createDemoAgent({ thinkMs });
}

function selectOwner(): LeaseOwner {
  const owner = defaultOwner();
  return process.env.TURNLANE_OWNER_LIVENESS === 'opaque' ? { ...owner, liveness: { kind: 'opaque' } } : owner;
}

/** Reports to the parent; a parent that went away must not take the worker down with it. */
function send(message: WorkerMessage): void {
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, () => {});
}

function reportEvents(worker: ReturnType<typeof createWorker>): void {
  const pending = new Map<string, { startLatencyMs: number[]; midTurn: number; batches: number }>();
  worker.events.on('turn_started', ({ turnId, claim }) => {
    pending.set(turnId, { startLatencyMs: claim.batches.map((b) => claim.claimedAtMs - b.enqueuedAtMs), midTurn: 0, batches: claim.batches.length });
  });
  worker.events.on('checkpoint_delivery', ({ turnId, claim }) => {
    const turn = pending.get(turnId);
    if (turn) {
      turn.midTurn += claim.batches.length;
    }
  });
  worker.events.on('turn_committed', (e) => {
    const turn = pending.get(e.turnId) ?? { startLatencyMs: [], midTurn: 0, batches: e.batchIds.length };
    pending.delete(e.turnId);
    send({ type: 'turn', sessionId: e.sessionId, turnId: e.turnId, headRevision: e.headRevision, fencingToken: e.fencingToken, batches: turn.batches, midTurn: turn.midTurn, startLatencyMs: turn.startLatencyMs, commitMs: e.commitMs });
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
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  runWorkerProcess().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
