// Attachment content stores and the write-ahead helpers around them: re-exports only.
export { contentId, createInMemoryAttachmentStore } from './content.js';
export { SessionScopedAttachmentStore, AttachmentIdMismatchError } from './session-scoped.js';
export { reclaimOrphanedAttachments } from './reclaim.js';
