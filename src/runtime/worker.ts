/**
 * The worker: one BullMQ Worker per process. A job `{ sessionId, batchId }` is only a wake-up
 * call; Postgres decides. A job whose session is held by a live holder finishes at once: the
 * holder's last claim is bound to see its batch, because enqueues and that claim serialize on the
 * session's lease row (store: enqueue_mark). A drain that stops with work possibly left adds a
 * session wake-up job (followUp below).
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { AcquireAndClaimNextResult, AttachmentStore, LeaseClaimOutcome, LeaseOwner, RuntimeStore, SessionLease } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import { createInMemoryAttachmentStore } from '../store/attachments/index.js';
import { currentProcessLiveness, isProcessDead } from '../store/liveness.js';
import { silentLogger } from '../logger.js';
import { WAKE_JOB_NAME, assertNoEviction, createBatchQueue, redisConnection, resolveQueueSettings, wakeJobOptions, type BatchJobData, type QueueSettings } from './bullmq.js';
import { CommitFeedPublisher } from './commit-feed.js';
import { drainSession, type DrainOpening, type DrainReport } from './drain.js';
import { RuntimeEvents } from './events.js';
import { createProducer } from './producer.js';
import { startReconciler, type Reconciler } from './reconciler.js';
import { startRescue, type Rescue } from './rescue.js';
import type { TurnHandler } from './turn.js';
import { Renewer } from './heartbeat.js';
import { processTurnGate } from './isolation.js';
import { createSandbox } from './sandbox/pool.js';
import { assertAttachmentDurability } from './attachment-durability.js';
import { toolPolicy, type ToolPolicy } from './session-policy.js';

/** How many completed batch ids a worker remembers for their jobs (about 40 bytes each). */
const COMPLETED_MEMORY = 10_000;

export interface WorkerOptions {
  store: RuntimeStore;
  handler: TurnHandler;
  /** Redis URL, queue name, key prefix, job attempts. */
  settings?: Partial<QueueSettings>;
  /** BullMQ job slots in this process. Default 16. */
  concurrency?: number;
  /** Session lease and claim TTL in ms, renewed every TTL/3. Default 15,000: a stalled process loses its sessions within 15 s. */
  leaseTtlMs?: number;
  /** Turns one lease runs before it lets other sessions' jobs go first. Default 16. */
  maxTurnsPerLease?: number;
  /** Batches one turn may join. Default 16. */
  maxBatchesPerTurn?: number;
  /** Failed turns after which a batch is dead-lettered. Default 3. */
  maxAttempts?: number;
  /**
   * Run a turn whose batch's last attempt died with its worker (a suspect) alone in this process,
   * so a poison input that ends the process takes only itself down (src/runtime/isolation.ts). Default true.
   */
  isolateSuspects?: boolean;
  /**
   * Run turns in sandbox processes (src/runtime/sandbox/pool.ts): `suspects` runs there only the
   * turns whose last attempt died with its worker, `all` runs every turn there, so a handler that
   * ends its process never ends the worker. The handler is then loaded in the sandbox from
   * `module` (its `exportName` export, default `handler`); `handler` above still runs the turns
   * kept in this process. Sandboxed, only turns interrupted by their worker's death run alone
   * (isolateSuspects): their own crash would end only their sandbox.
   */
  sandbox?: { module: string; exportName?: string; turns: 'suspects' | 'all'; maxIdle?: number; logLevel?: string; env?: Record<string, string> };
  /** How long turns in flight get to reach their commit after close() begins. Default 10,000 ms. */
  shutdownGraceMs?: number;
  /** Delay of the wake-up job after a drain lost its lease (the holder's renewal failed). Default 250 ms. */
  busyRetryMs?: number;
  /** BullMQ lock of an active job, renewed by BullMQ at half of it. Default 10,000 ms. */
  jobLockMs?: number;
  /** How often BullMQ looks for jobs of dead workers. Default 5,000 ms (BullMQ's 30 s default would leave a killed worker's sessions idle that long). */
  stalledIntervalMs?: number;
  /**
   * How often this process looks for sessions held by dead processes of its own host and drains
   * them at once (src/runtime/rescue.ts); 0 disables it. Default 250 ms: one indexed query (partial
   * index of held leases by host), so a crashed process's sessions resume within about a quarter second.
   */
  rescueIntervalMs?: number;
  /** Reconciler period; 0 disables it in this process. Default 5,000 ms. */
  reconcileIntervalMs?: number;
  /**
   * Content store for `turn.attachments`. Default: in-memory, which a durable `store` refuses
   * (DurabilityMismatchError when the worker is created) unless `allowInlineAttachments`.
   */
  attachments?: AttachmentStore;
  /** Accept attachments that vanish on restart beside a durable store (tests, benchmarks). Default false. */
  allowInlineAttachments?: boolean;
  /**
   * Session policy for `turn.tools.use`. Default: the store's task sessions (`toolPolicy(store)`:
   * whitelist, sensitivity ceiling, budget, rate limit; implicit sessions allow every tool).
   * `allowAllTools` turns enforcement off.
   */
  useTools?: ToolPolicy;
  /** The agent this worker runs: stated with every tool call, so a task session of another agent refuses it (AgentMismatchError). Default: none stated. */
  agentId?: string;
  /** This process as a lease owner. Default: host:pid with a random incarnation and /proc liveness. */
  owner?: LeaseOwner;
  logger?: Logger;
}

export interface TurnWorker {
  readonly owner: LeaseOwner;
  readonly events: RuntimeEvents;
  /** Starts taking jobs; resolves when the worker has closed. */
  run(): Promise<void>;
  /** Resolves once run() takes jobs (its sandbox processes started); rejects if run() fails before. */
  readonly ready: Promise<void>;
  /** Graceful: stop taking jobs, signal turns, wait the grace period, abandon what is left. */
  close(): Promise<void>;
}

export function defaultOwner(): LeaseOwner {
  return { ownerId: `${hostname()}:${process.pid}`, incarnationId: randomBytes(8).toString('hex'), liveness: currentProcessLiveness() };
}

export function createWorker(options: WorkerOptions): TurnWorker {
  const { store } = options;
  const settings = resolveQueueSettings(options.settings);
  const log = options.logger ?? silentLogger();
  const owner = options.owner ?? defaultOwner();
  const leaseTtlMs = options.leaseTtlMs ?? 15_000;
  const busyRetryMs = options.busyRetryMs ?? 250;
  const maxBatchesPerTurn = options.maxBatchesPerTurn ?? 16;
  const maxAttempts = options.maxAttempts ?? 3;
  const events = new RuntimeEvents();
  const renewer = new Renewer({ store, ttlMs: leaseTtlMs });
  const shutdown = new AbortController();
  const hardStop = new AbortController();
  // Every turn in flight listens to both (through AbortSignal.any): up to one listener per job
  // slot and gate wait, more than Node's default warning threshold of 10.
  setMaxListeners(0, shutdown.signal, hardStop.signal);
  const attachments = options.attachments ?? createInMemoryAttachmentStore();
  assertAttachmentDurability(store, attachments, options.allowInlineAttachments === true);
  const useTools = options.useTools ?? toolPolicy(store);
  const sandbox = options.sandbox ? createSandbox({ ...options.sandbox, maxIdle: options.sandbox.maxIdle ?? options.concurrency ?? 16, log }) : undefined;
  /**
   * Batches this process's drains completed lately: their jobs finish without a statement. Bounded
   * (oldest forgotten first); a forgotten one costs its job a lease try and an empty claim.
   */
  const completedHere = new Set<string>();
  events.on('turn_committed', (e) => {
    for (const batchId of e.batchIds) completedHere.add(batchId);
    for (const batchId of completedHere) {
      if (completedHere.size <= COMPLETED_MEMORY) break;
      completedHere.delete(batchId);
    }
  });
  /** Sessions this process holds: a second job of the same session must not re-enter the lease (holdAndDrain). */
  const draining = new Map<string, { lateArrival: boolean }>();

  const connection: Redis = redisConnection(settings.redisUrl, 'worker');
  const queue = createBatchQueue(settings, connection);
  const producer = createProducer({ store, queue, settings, logger: log });
  events.on('turn_committed', (e) => void producer.publish(e.enqueuedBatches));
  const commitFeed = new CommitFeedPublisher(connection, settings.prefix);
  events.on('turn_committed', (e) => commitFeed.add({ type: 'commit', sessionId: e.sessionId, turnId: e.turnId, headRevision: e.headRevision }));
  let reconciler: Reconciler | undefined;
  let rescue: Rescue | undefined;
  let bullWorker: Worker<BatchJobData> | undefined;
  let markReady!: () => void;
  let failReady!: (err: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});

  async function later(job: Job<BatchJobData>, token: string | undefined, delayMs: number): Promise<never> {
    const jitter = Math.random() * Math.min(100, delayMs / 2);
    await job.moveToDelayed(Date.now() + Math.max(1, Math.round(delayMs + jitter)), token);
    throw new DelayedError();
  }

  /** Runs turns under `lease` and releases it at the end. */
  function drain(lease: SessionLease, opening: DrainOpening | undefined, onClaim: () => void): Promise<DrainReport> {
    const isolate = options.isolateSuspects !== false;
    return drainSession({
      store,
      handler: options.handler,
      owner,
      lease,
      ...(opening ? { opening } : {}),
      leaseTtlMs,
      maxTurnsPerLease: options.maxTurnsPerLease ?? 16,
      maxBatchesPerTurn,
      maxAttempts,
      ...(isolate ? { isolation: processTurnGate } : {}),
      ...(sandbox ? { sandbox: { handler: sandbox.handler, turns: options.sandbox!.turns } } : {}),
      attachments,
      shutdown: shutdown.signal,
      hardStop: hardStop.signal,
      useTools,
      ...(options.agentId ? { agentId: options.agentId } : {}),
      events,
      log,
      onClaim,
      renewer,
    });
  }

  /**
   * The session's lease for this process, with the first claim and the session when one statement
   * could take them all (leases.acquireAndClaimNext); null when there is nothing to do (idle) or
   * the session is held. A shared place in the turn gate is taken first, as before any claim (no
   * claim while a suspect runs or waits); when none is free now, the lease alone is taken.
   */
  async function acquire(sessionId: string): Promise<{ lease: SessionLease; opening?: DrainOpening } | null> {
    const gate = options.isolateSuspects !== false ? processTurnGate : undefined;
    const ticket = gate?.tryEnter('shared') ?? undefined;
    if (gate && !ticket) {
      const lease = await acquireLease(sessionId, await store.leases.tryClaim(sessionId, owner, leaseTtlMs));
      return lease ? { lease } : null;
    }
    let started: AcquireAndClaimNextResult;
    try {
      started = await store.leases.acquireAndClaimNext({ sessionId, owner, ttlMs: leaseTtlMs, maxBatches: maxBatchesPerTurn, maxAttempts });
    } catch (err) {
      ticket?.();
      throw err;
    }
    if (started.kind === 'acquired' && started.first) {
      return { lease: started.lease, opening: { claimed: { claim: started.first.claim, leaseReleased: false }, session: started.first.session, ticket } };
    }
    ticket?.();
    if (started.kind === 'idle') return null;
    const lease = await acquireLease(sessionId, started);
    return lease ? { lease } : null;
  }

  /** The lease from a tryClaim-like outcome: acquired, or taken over from a provably dead holder of this host; null when held. */
  async function acquireLease(sessionId: string, outcome: LeaseClaimOutcome): Promise<SessionLease | null> {
    let claimed = outcome;
    if (claimed.kind === 'busy' && isProcessDead(claimed.holder.owner.liveness, owner.liveness)) {
      claimed = await store.leases.reclaim(sessionId, owner, leaseFence(claimed.holder), leaseTtlMs);
      if (claimed.kind === 'acquired') {
        events.emit('lease_takeover', { sessionId, fencingToken: claimed.lease.fencingToken });
        log.info({ sessionId, fencingToken: claimed.lease.fencingToken }, 'took over the lease of a dead process on this host');
      }
    }
    return claimed.kind === 'acquired' ? claimed.lease : null;
  }

  /**
   * Holds the session in this process while it drains: `first` gets the lease (or null when the
   * session is held elsewhere), then the drain runs. A job of the same session that arrives
   * meanwhile finishes at once and marks the hold; if it arrived after the drain's last claim
   * began (that claim may have released the lease before its batch landed), the session is
   * acquired and drained again. Returns null when the session was held by another process, whose
   * last claim is then bound to see every batch enqueued before (store: enqueue_mark).
   */
  async function holdAndDrain(sessionId: string, first: () => Promise<{ lease: SessionLease; opening?: DrainOpening } | null>): Promise<DrainReport | null> {
    const hold = { lateArrival: false };
    draining.set(sessionId, hold);
    try {
      let getLease = first;
      let report: DrainReport | null = null;
      for (;;) {
        hold.lateArrival = false;
        const got = await getLease();
        getLease = () => acquire(sessionId);
        if (!got) {
          if (hold.lateArrival) continue;
          return report;
        }
        report = await drain(got.lease, got.opening, () => (hold.lateArrival = false));
        await followUp(sessionId, report);
        if (report.exit !== 'empty' || !hold.lateArrival) return report;
      }
    } finally {
      draining.delete(sessionId);
    }
  }

  /**
   * After a drain that stopped with work possibly left (every exit but `empty`), jobs of that work
   * may already have finished because they found the session held: a wake-up job takes their
   * place. A failed turn's wake-up waits the backoff, so its retry does not spin.
   */
  async function followUp(sessionId: string, report: DrainReport): Promise<void> {
    if (report.exit === 'empty') return;
    const delay = report.exit === 'failed' ? settings.backoffMs : report.exit === 'lost' ? busyRetryMs : 0;
    try {
      await queue.add(WAKE_JOB_NAME, { sessionId, batchId: '', wake: report.exit === 'failed' ? 'retry' : 'continue' }, wakeJobOptions(delay));
    } catch (err) {
      log.warn({ err, sessionId }, 'wake-up job not added; the reconciler will deliver the work of the session');
    }
  }

  async function process(job: Job<BatchJobData>, token?: string): Promise<{ outcome: string; turns?: number }> {
    const { sessionId, batchId } = job.data;
    if (completedHere.delete(batchId)) return { outcome: 'drained' };
    if (shutdown.signal.aborted) return later(job, token, 0);
    // A batch that may not be available yet is looked at first (jobs of batches available at
    // enqueue skip this read: a held session or the claim decides).
    if (!job.data.wake && job.data.availableAtMs !== 0) {
      const batch = await store.queue.get(batchId);
      if (!batch) return { outcome: 'batch_gone' };
      if (batch.availableAtMs > 0) {
        const now = await store.clock.nowMs();
        if (batch.availableAtMs > now) return later(job, token, batch.availableAtMs - now);
      }
    }
    const hold = draining.get(sessionId);
    if (hold) {
      hold.lateArrival = true;
      return { outcome: 'held_here' };
    }
    const report = await holdAndDrain(sessionId, () => acquire(sessionId));
    if (!report) return { outcome: 'held' };
    // A failed turn of this job's own batch fails the job, so Bull Board shows the error and
    // BullMQ backs off; Postgres counts the attempt and dead-letters the batch at maxAttempts.
    if (report.exit === 'failed' && report.failure?.batchIds.includes(batchId)) throw new Error(report.failure.reason);
    return { outcome: report.exit === 'empty' ? 'drained' : report.exit, turns: report.turns };
  }

  return {
    owner,
    events,
    ready,
    async run() {
      try {
        await assertNoEviction(connection);
        // A handler module that does not load fails the worker now, not each turn later. With every
        // turn sandboxed, a process per job slot is started before the first job, not during it;
        // for suspects only, loading the module here is check enough (a sandbox starts on demand).
        if (options.sandbox?.turns === 'all') await sandbox?.start(options.concurrency ?? 16);
        else await sandbox?.verify();
      } catch (err) {
        failReady(err);
        throw err;
      }
      bullWorker = new Worker<BatchJobData>(settings.queueName, process, {
        connection,
        prefix: settings.prefix,
        concurrency: options.concurrency ?? 16,
        autorun: false,
        lockDuration: options.jobLockMs ?? 10_000,
        stalledInterval: options.stalledIntervalMs ?? 5_000,
        // A job whose worker died twice mid-turn is not failed: Postgres decides about the batch.
        maxStalledCount: 1000,
      });
      bullWorker.on('error', (err) => log.error({ err }, 'BullMQ worker error'));
      const interval = options.reconcileIntervalMs ?? 5_000;
      if (interval > 0) reconciler = startReconciler({ store, queue, producer, owner, intervalMs: interval, events, log });
      const rescueEvery = options.rescueIntervalMs ?? 250;
      if (rescueEvery > 0) rescue = startRescue({ store, owner, leaseTtlMs, intervalMs: rescueEvery, isHeld: (id) => draining.has(id), holdAndDrain, events, log });
      markReady();
      await bullWorker.run();
    },
    async close() {
      if (shutdown.signal.aborted) return;
      shutdown.abort('shutdown');
      const grace = setTimeout(() => hardStop.abort('shutdown'), options.shutdownGraceMs ?? 10_000);
      try {
        await reconciler?.stop();
        await rescue?.stop();
        await bullWorker?.close();
      } finally {
        clearTimeout(grace);
        await sandbox?.close();
        await commitFeed.flush();
        await queue.close();
        connection.disconnect();
      }
    },
  };
}
