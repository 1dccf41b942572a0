/**
 * The producer: validate, write the batch to Postgres (the truth), then add one BullMQ job per
 * batch (delivery). A Redis failure never fails an accepted enqueue: the reconciler publishes
 * whatever Postgres holds without a job.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type {
  DeliveryPolicy,
  EnqueueOutcome,
  MergeKey,
  QueuedWorkBatch,
  QueuedWorkBatchDraft,
  RuntimeStore,
  SessionCommand,
  SlotPolicy,
} from '../store/contract.js';
import { sessionCommandDraft } from '../store/drafts.js';
import { requestHashOf } from '../store/hash.js';
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
  /**
   * Idempotency key: a replay returns the original batch and adds no job. The request's other
   * fields are hashed with it (`requestHash`): the same key with another text, policy, merge key
   * or availability is IdempotencyKeyReusedError.
   */
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
  /**
   * How long an enqueue waits for its job to be added before it answers anyway (ms; default
   * 1000). The batch is already in Postgres, so a late or failed add only delays delivery until
   * the reconciler publishes it. Without a bound, BullMQ waits for Redis as long as it is away:
   * an HTTP enqueue got no answer in 40 s and the CLI hung for minutes. A healthy add takes a few
   * ms; one that outlives the bound still lands, and a repeated add of the same job id is a no-op.
   */
  publishDeadlineMs?: number;
}

/** The default of ProducerOptions.publishDeadlineMs. */
export const DEFAULT_PUBLISH_DEADLINE_MS = 1_000;

export interface ProducerStats {
  /** Jobs that could not be added to Redis; the reconciler publishes them later. */
  publishFailures: number;
}

export interface Producer {
  enqueue(draft: QueuedWorkBatchDraft): Promise<QueuedWorkBatch>;
  /** `enqueue`, saying whether the source key made it a replay (the HTTP route's Idempotent-Replayed header). */
  enqueueWithOutcome(draft: QueuedWorkBatchDraft): Promise<EnqueueOutcome>;
  /** `enqueueTurnInput`, saying whether the source key made it a replay. */
  enqueueTurnInputWithOutcome(request: TurnInputRequest): Promise<EnqueueOutcome>;
  enqueueTurnInput(request: TurnInputRequest): Promise<QueuedWorkBatch>;
  submitSessionCommand(sessionId: string, command: SessionCommand, idempotencyKey: string): Promise<QueuedWorkBatch>;
  /** Cancels an unclaimed batch and removes its job; null when missing or held by a live claim. */
  cancel(sessionId: string, batchId: string): Promise<QueuedWorkBatch | null>;
  /** Adds the jobs of batches already in Postgres (an outbox after its commit, the reconciler's finds). */
  publish(batches: PublishableBatch[]): Promise<void>;
  readonly stats: ProducerStats;
}

/** The draft of a TurnInputRequest; with a source key, the request's hash goes with it. */
export function turnInputRequestDraft(request: TurnInputRequest): QueuedWorkBatchDraft {
  const draft: QueuedWorkBatchDraft = {
    sessionId: request.sessionId,
    deliveryPolicy: request.deliveryPolicy ?? 'after_current_turn_commit',
    slotPolicy: request.slotPolicy ?? 'exclusive',
    ...(request.mergeKey ? { mergeKey: request.mergeKey } : {}),
    ...(request.availableAtMs !== undefined ? { availableAtMs: request.availableAtMs } : {}),
    ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: request.text }] } }],
  };
  if (request.sourceKey === undefined) return draft;
  return { ...draft, sourceKey: request.sourceKey, requestHash: requestHashOf({ kind: 'turn_input_request', draft }) };
}

/** The job add did not finish within publishDeadlineMs (logged; the batch stays accepted). */
export class PublishDeadlineError extends Error {
  readonly code = 'PUBLISH_DEADLINE';
}

export function createProducer(options: ProducerOptions): Producer {
  const { store, queue } = options;
  const settings = resolveQueueSettings(options.settings);
  const log = options.logger ?? silentLogger();
  const stats: ProducerStats = { publishFailures: 0 };
  const deadlineMs = options.publishDeadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;

  async function publish(batches: PublishableBatch[]): Promise<void> {
    const queued = batches.filter((b) => b.status === 'queued');
    if (queued.length === 0) return;
    // Only a batch with an availability time needs the store clock (one round trip per publish);
    // the delay is only a hint: a job that runs early delays itself again.
    let nowMs = 0;
    if (queued.some((b) => b.availableAtMs > 0)) nowMs = await store.clock.nowMs().catch(() => 0);
    let timer: NodeJS.Timeout | undefined;
    try {
      // A repeated add with the same jobId is a no-op in BullMQ, so a source-key replay adds nothing.
      const added = queue.addBulk(
        queued.map((b) => ({
          name: JOB_NAME,
          data: { sessionId: b.sessionId, batchId: b.batchId, availableAtMs: b.availableAtMs },
          opts: batchJobOptions(settings, b.batchId, b.availableAtMs - nowMs),
        })),
      );
      added.catch(() => {}); // After the deadline nobody awaits it; its failure is the reconciler's to repair.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PublishDeadlineError(`Redis did not take the job within ${deadlineMs} ms`)), deadlineMs);
      });
      await Promise.race([added, late]);
    } catch (err) {
      stats.publishFailures += queued.length;
      log.warn({ err, batchIds: queued.map((b) => b.batchId) }, 'batch accepted but its job was not added; the reconciler will add it');
    } finally {
      clearTimeout(timer);
    }
  }

  async function enqueueWithOutcome(draft: QueuedWorkBatchDraft): Promise<EnqueueOutcome> {
    const outcome = await store.queue.enqueueWithOutcome(draft);
    await publish([outcome.batch]);
    return outcome;
  }

  return {
    enqueue: async (draft) => (await enqueueWithOutcome(draft)).batch,
    enqueueWithOutcome,
    enqueueTurnInput: async (request) => (await enqueueWithOutcome(turnInputRequestDraft(request))).batch,
    enqueueTurnInputWithOutcome: (request) => enqueueWithOutcome(turnInputRequestDraft(request)),
    submitSessionCommand: async (sessionId, command, idempotencyKey) =>
      (await enqueueWithOutcome(sessionCommandDraft(sessionId, command, idempotencyKey))).batch,
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
