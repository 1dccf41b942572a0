/**
 * The reconciler makes BullMQ match Postgres again: every queued batch without a live job gets
 * one (Redis lost its data, a producer crashed between the insert and the add, an outbox batch
 * whose publish failed), a batch whose job failed for good is dead-lettered with the job's last
 * error, and a session whose lease expired without a release gets a wake-up job (below). One
 * leader at a time: the leader holds the session lease of a reserved session id, so leadership
 * is fenced and timed by the database clock like every other lease.
 *
 * Wake-up jobs. A lease that expired without a release means its holder stopped renewing: frozen
 * (SIGSTOP, a stalled VM), cut off from Postgres, or dead on another host. The session's queued
 * work still has jobs, but none of them may reach a live worker soon:
 * - the batch's job is active in the frozen process, whose BullMQ lock (10 s) must lapse and a
 *   stalled check run before another worker gets it (measured: 10.5 s after SIGSTOP with a 0.8 s
 *   lease TTL);
 * - a waiting job's wake-up was swallowed: the frozen process's blocking BZPOPMIN on the queue's
 *   marker was still registered in Redis, so Redis handed it the marker of the next job added and
 *   the idle workers slept on until their own block timed out (BullMQ drainDelay, 5 s; in 46 of
 *   100 zombie trials the session was drained 6 s after SIGSTOP instead of 2 s, TTL 0.8 s).
 * Adding one more job for the session's head batch, under its own job id, puts a fresh marker in
 * Redis and a runnable job in front of the live workers; the worker that takes it finds the lease
 * expired and takes the session over. Duplicate delivery is safe (Postgres claims decide; chaos
 * duplicate-delivery). The id names the expired lease's fencing token, so each pass adds it once
 * per holder that stopped.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { LeaseOwner, QueuedBatchRef, RuntimeStore } from '../store/contract.js';
import { JOB_NAME, type BatchJobData } from './bullmq.js';
import type { RuntimeEvents } from './events.js';
import { startPeriodic, type Periodic } from './periodic.js';
import type { Producer } from './producer.js';

/** The lease that elects the reconciler leader. Not a conversation: no batch is ever enqueued to it. */
export const RECONCILER_LEASE_ID = 'turnlane:reconciler';
const PAGE = 500;

export interface ReconcilerOptions {
  store: RuntimeStore;
  queue: Queue<BatchJobData>;
  producer: Producer;
  owner: LeaseOwner;
  intervalMs: number;
  events?: RuntimeEvents;
  log: Logger;
}

export interface ReconcileReport {
  scanned: number;
  /** Batches that had no job and got one. */
  published: number;
  /** Batches whose job had completed or vanished while the batch stayed queued (requeued dead letters). */
  republished: number;
  /** Batches whose job failed for good. */
  deadLettered: number;
  /** Sessions whose lease expired without a release and got a wake-up job in this pass. */
  woken: number;
}

/** Job states in which a batch's job exists and is not finished: it may be the only, stuck, delivery. */
const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** The wake-up job of `batchId` for the holder with `fencingToken` (BullMQ ids may not contain ':'). */
export function wakeUpJobId(batchId: string, fencingToken: number): string {
  return `${batchId}.wake.${fencingToken}`;
}

export type Reconciler = Periodic;

/** One pass over the whole queue. Safe to run anywhere at any time: every fix is idempotent. */
export async function reconcileOnce(options: Omit<ReconcilerOptions, 'intervalMs' | 'owner'>): Promise<ReconcileReport> {
  const { store, queue, producer } = options;
  const report: ReconcileReport = { scanned: 0, published: 0, republished: 0, deadLettered: 0, woken: 0 };
  const nowMs = await store.clock.nowMs();
  /** Sessions already looked at in this pass (a session's batches can span pages). */
  const seen = new Set<string>();
  let after = 0;
  for (;;) {
    const page = await store.queue.scan({ afterEnqueueSeq: after, limit: PAGE });
    if (page.length === 0) break;
    after = page[page.length - 1]!.enqueueSeq;
    report.scanned += page.length;
    const unheld = page.filter((b) => !b.held);
    const states = await Promise.all(unheld.map((b) => queue.getJobState(b.batchId)));
    const held = await sessionsHeldLive(store, unheld.filter((_, i) => states[i] === 'unknown' || states[i] === 'completed'), nowMs);
    const missing: QueuedBatchRef[] = [];
    for (const [i, ref] of unheld.entries()) {
      const state = states[i];
      // A job that found its session held finished at once: the live holder will claim the batch.
      if ((state === 'unknown' || state === 'completed') && held.has(ref.sessionId)) continue;
      if (state === 'unknown') {
        missing.push(ref);
        report.published++;
      } else if (state === 'completed') {
        await queue.remove(ref.batchId);
        missing.push(ref);
        report.republished++;
      } else if (state === 'failed') {
        const job = await queue.getJob(ref.batchId);
        const reason = `delivery failed for good: ${job?.failedReason ?? 'unknown error'}`;
        if (await store.queue.deadLetter(ref.sessionId, ref.batchId, reason)) report.deadLettered++;
        await queue.remove(ref.batchId);
      }
    }
    if (missing.length > 0) await producer.publish(missing.map((ref) => ({ ...ref, status: 'queued' as const })));
    const heads = new Map<string, QueuedBatchRef>();
    for (const [i, ref] of unheld.entries()) {
      if (LIVE_JOB_STATES.has(states[i]!) && !seen.has(ref.sessionId) && !heads.has(ref.sessionId)) heads.set(ref.sessionId, ref);
    }
    for (const sessionId of heads.keys()) seen.add(sessionId);
    report.woken += await wakeSessionsOfExpiredHolders(options, [...heads.values()], nowMs);
    if (page.length < PAGE) break;
  }
  return report;
}

/** The sessions of `refs` whose lease is held and live at `nowMs` (one lease read per session). */
async function sessionsHeldLive(store: RuntimeStore, refs: QueuedBatchRef[], nowMs: number): Promise<Set<string>> {
  const ids = [...new Set(refs.map((r) => r.sessionId))];
  const leases = await Promise.all(ids.map((id) => store.leases.get(id)));
  return new Set(ids.filter((_, i) => leases[i] && leases[i]!.leaseToken !== '' && leases[i]!.expiresAtMs > nowMs));
}

/**
 * Adds a wake-up job for each of `heads` (a session's first unheld batch with a live job) whose
 * session lease is held but expired by the store clock at `nowMs`, unless an earlier pass did. One
 * lease read per session: the cost grows with the sessions that have queued work, like the pass's
 * job-state reads. Returns how many wake-up jobs were added.
 */
async function wakeSessionsOfExpiredHolders(options: Pick<ReconcilerOptions, 'store' | 'queue'>, heads: QueuedBatchRef[], nowMs: number): Promise<number> {
  const leases = await Promise.all(heads.map((ref) => options.store.leases.get(ref.sessionId)));
  const expired = heads.flatMap((ref, i) => {
    const lease = leases[i];
    // A released lease has an empty token: nobody holds the session, so its jobs run as usual.
    if (!lease || lease.leaseToken === '' || lease.expiresAtMs > nowMs) return [];
    return [{ ref, jobId: wakeUpJobId(ref.batchId, lease.fencingToken) }];
  });
  // A wake-up added by an earlier pass is not added (nor counted) again.
  const states = await Promise.all(expired.map(({ jobId }) => options.queue.getJobState(jobId)));
  const wakes = expired.flatMap(({ ref, jobId }, i) => {
    if (states[i] !== 'unknown') return [];
    return [
      {
        name: JOB_NAME,
        data: { sessionId: ref.sessionId, batchId: ref.batchId },
        opts: {
          jobId,
          delay: Math.max(0, ref.availableAtMs - nowMs),
          // Only a wake-up: the batch's own job carries the retries and the failure history.
          attempts: 1,
          removeOnComplete: true,
          removeOnFail: true,
        },
      },
    ];
  });
  if (wakes.length > 0) await options.queue.addBulk(wakes);
  return wakes.length;
}

export function startReconciler(options: ReconcilerOptions): Reconciler {
  const { store, owner, log } = options;

  async function tick(): Promise<void> {
    try {
      const claim = await store.leases.tryClaim(RECONCILER_LEASE_ID, owner, options.intervalMs * 3);
      if (claim.kind !== 'acquired') return;
      const report = await reconcileOnce(options);
      const fixes = report.published + report.republished + report.deadLettered + report.woken;
      if (fixes > 0) {
        log.info({ ...report }, 'reconciler fixed delivery');
        options.events?.emit('reconciled', report);
      }
    } catch (err) {
      log.warn({ err }, 'reconciler pass failed; next pass in one interval');
    }
  }

  return startPeriodic(options.intervalMs, tick);
}
