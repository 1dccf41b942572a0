// The public surface of turnlane: re-exports only.
export * from './errors.js';
export type * from './store/contract.js';
export { turnCommitHash, canonicalJson } from './store/hash.js';
export {
  turnInputDraft,
  processWakeDraft,
  sessionCommandDraft,
  withSourceKey,
  leaseFence,
  leaseCompletion,
  queueClaimCompletion,
} from './store/drafts.js';
export { DEFAULT_LIMITS } from './store/validate.js';
export { DEFAULT_TENANT_ID } from './store/tenants.js';
export { createInMemoryStore } from './store/memory/index.js';
export { createPostgresStore } from './store/postgres/index.js';
export { migrate } from '../db/migrate.js';
export {
  createInMemoryAttachmentStore,
  SessionScopedAttachmentStore,
  reclaimOrphanedAttachments,
  contentId,
} from './store/attachments/index.js';
export { createPostgresAttachmentStore } from './store/postgres/attachments-content.js';
export { currentProcessLiveness, isProcessDead } from './store/liveness.js';
export { createProducer } from './runtime/producer.js';
export type { Producer, ProducerOptions, TurnInputRequest } from './runtime/producer.js';
export { createWorker, defaultOwner } from './runtime/worker.js';
export { allowAllTools, toolPolicy, type ToolPolicy } from './runtime/session-policy.js';
export { loadHandlerModule, parseHandlerSpec, HandlerModuleError } from './runtime/handler-module.js';
export type { LoadedHandler } from './runtime/handler-module.js';
export { DependencyUnavailableError } from './runtime/startup.js';
export { PublishDeadlineError, DEFAULT_PUBLISH_DEADLINE_MS } from './runtime/producer.js';
export type { WorkerOptions, TurnWorker } from './runtime/worker.js';
export { createBatchQueue, redisConnection, assertNoEviction, RedisEvictionPolicyError, DEFAULT_QUEUE_SETTINGS } from './runtime/bullmq.js';
export type { BatchJobData, QueueSettings } from './runtime/bullmq.js';
export { reconcileOnce } from './runtime/reconciler.js';
export { RuntimeEvents } from './runtime/events.js';
export { TurnAbortedError } from './runtime/turn.js';
export type { TurnContext, TurnHandler, TurnResult, TurnInputView, NodeDraft } from './runtime/turn.js';
export { createLogger } from './logger.js';
