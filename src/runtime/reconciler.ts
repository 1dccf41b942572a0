/**
 * The reconciler makes BullMQ match Postgres again: every queued batch without a live job gets
 * one (Redis lost its data, a producer crashed between the insert and the add, an outbox batch
 * whose publish failed), and a batch whose job failed for good is dead-lettered with the job's
 * last error. One leader at a time: the leader holds the session lease of a reserved session id,
 * so leadership is fenced and timed by the database clock like every other lease.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { LeaseOwner, QueuedBatchRef, RuntimeStore } from '../store/contract.js';
import type { BatchJobData } from './bullmq.js';
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
}

export type Reconciler = Periodic;

/** One pass over the whole queue. Safe to run anywhere at any time: every fix is idempotent. */
export async function reconcileOnce(options: Omit<ReconcilerOptions, 'intervalMs' | 'owner'>): Promise<ReconcileReport> {
  const { store, queue, producer } = options;
  const report: ReconcileReport = { scanned: 0, published: 0, republished: 0, deadLettered: 0 };
  let after = 0;
  for (;;) {
    const page = await store.queue.scan({ afterEnqueueSeq: after, limit: PAGE });
    if (page.length === 0) break;
    after = page[page.length - 1]!.enqueueSeq;
    report.scanned += page.length;
    const unheld = page.filter((b) => !b.held);
    const states = await Promise.all(unheld.map((b) => queue.getJobState(b.batchId)));
    const missing: QueuedBatchRef[] = [];
    for (const [i, ref] of unheld.entries()) {
      const state = states[i];
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
    if (page.length < PAGE) break;
  }
  return report;
}

export function startReconciler(options: ReconcilerOptions): Reconciler {
  const { store, owner, log } = options;

  async function tick(): Promise<void> {
    try {
      const claim = await store.leases.tryClaim(RECONCILER_LEASE_ID, owner, options.intervalMs * 3);
      if (claim.kind !== 'acquired') return;
      const report = await reconcileOnce(options);
      const fixes = report.published + report.republished + report.deadLettered;
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
