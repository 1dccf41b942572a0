/**
 * The producer: validate, write the batch to Postgres (the truth), then add one BullMQ job per
 * batch (delivery). A Redis failure never fails an accepted enqueue: the reconciler publishes
 * whatever Postgres holds without a job.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type {
  DeliveryPolicy,
  MergeKey,
  QueuedWorkBatch,
  QueuedWorkBatchDraft,
  RuntimeStore,
  SessionCommand,
  SlotPolicy,
} from '../store/contract.js';
import { sessionCommandDraft } from '../store/drafts.js';
import { silentLogger } from '../logger.js';
import { JOB_NAME, batchJobOptions, resolveQueueSettings, type BatchJobData, type QueueSettings } from './bullmq.js';

export interface TurnInputRequest {
  sessionId: string;
  text: string;
  /** Default 'after_current_turn_commit'. */
  deliveryPolicy?: DeliveryPolicy;
  /** Default 'exclusive'. */
  slotPolicy?: SlotPolicy;
  mergeKey?: MergeKey;
  /** Idempotency key: a replay returns the original batch and adds no job. */
  sourceKey?: string;
  /** Store time before which the input is not delivered. */
  availableAtMs?: number;
  /** The producing tenant (QueuedWorkBatchDraft.tenantId); default: the default tenant. */
  tenantId?: string;
}

/** What a job is made from. */
export type PublishableBatch = Pick<QueuedWorkBatch, 'batchId' | 'sessionId' | 'availableAtMs' | 'status'>;

export interface ProducerOptions {
  store: RuntimeStore;
  /** The BullMQ queue of batch jobs (see createBatchQueue). */
  queue: Queue<BatchJobData>;
  settings?: Partial<QueueSettings>;
  logger?: Logger;
}

export interface ProducerStats {
  /** Jobs that could not be added to Redis; the reconciler publishes them later. */
  publishFailures: number;
}

export interface Producer {
  enqueue(draft: QueuedWorkBatchDraft): Promise<QueuedWorkBatch>;
  enqueueTurnInput(request: TurnInputRequest): Promise<QueuedWorkBatch>;
  submitSessionCommand(sessionId: string, command: SessionCommand, idempotencyKey: string): Promise<QueuedWorkBatch>;
  /** Cancels an unclaimed batch and removes its job; null when missing or held by a live claim. */
  cancel(sessionId: string, batchId: string): Promise<QueuedWorkBatch | null>;
  /** Adds the jobs of batches already in Postgres (an outbox after its commit, the reconciler's finds). */
  publish(batches: PublishableBatch[]): Promise<void>;
  readonly stats: ProducerStats;
}

export function createProducer(options: ProducerOptions): Producer {
  const { store, queue } = options;
  const settings = resolveQueueSettings(options.settings);
  const log = options.logger ?? silentLogger();
  const stats: ProducerStats = { publishFailures: 0 };

  async function publish(batches: PublishableBatch[]): Promise<void> {
    const queued = batches.filter((b) => b.status === 'queued');
    if (queued.length === 0) return;
    let nowMs: number;
    try {
      nowMs = await store.clock.nowMs();
    } catch {
      nowMs = 0; // The delay is only a hint: a job that runs early delays itself again.
    }
    try {
      // A repeated add with the same jobId is a no-op in BullMQ, so a source-key replay adds nothing.
      await queue.addBulk(
        queued.map((b) => ({
          name: JOB_NAME,
          data: { sessionId: b.sessionId, batchId: b.batchId },
          opts: batchJobOptions(settings, b.batchId, b.availableAtMs - nowMs),
        })),
      );
    } catch (err) {
      stats.publishFailures += queued.length;
      log.warn({ err, batchIds: queued.map((b) => b.batchId) }, 'batch accepted but its job was not added; the reconciler will add it');
    }
  }

  async function enqueue(draft: QueuedWorkBatchDraft): Promise<QueuedWorkBatch> {
    const batch = await store.queue.enqueue(draft);
    await publish([batch]);
    return batch;
  }

  return {
    enqueue,
    enqueueTurnInput: (request) =>
      enqueue({
        sessionId: request.sessionId,
        deliveryPolicy: request.deliveryPolicy ?? 'after_current_turn_commit',
        slotPolicy: request.slotPolicy ?? 'exclusive',
        ...(request.mergeKey ? { mergeKey: request.mergeKey } : {}),
        ...(request.sourceKey !== undefined ? { sourceKey: request.sourceKey } : {}),
        ...(request.availableAtMs !== undefined ? { availableAtMs: request.availableAtMs } : {}),
        ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
        payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: request.text }] } }],
      }),
    submitSessionCommand: (sessionId, command, idempotencyKey) => enqueue(sessionCommandDraft(sessionId, command, idempotencyKey)),
    async cancel(sessionId, batchId) {
      const cancelled = await store.queue.cancel(sessionId, batchId);
      if (cancelled) {
        try {
          await queue.remove(batchId);
        } catch (err) {
          // A job left behind finds its batch gone and completes at once.
          log.warn({ err, batchId }, 'batch cancelled but its job could not be removed');
        }
      }
      return cancelled;
    },
    publish,
    stats,
  };
}
