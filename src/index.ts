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
