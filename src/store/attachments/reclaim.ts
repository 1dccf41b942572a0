/**
 * Orphan reclamation: the safe caller of a content store's `delete`.
 */
import type { AttachmentManifest, AttachmentReclamationReport, AttachmentStore } from '../contract.js';

/**
 * For each uncommitted intent recorded at or before `olderThanMs`: deletes its bytes unless some
 * session committed the same content or recorded it after the cutoff (`isReferenced`), then
 * forgets the row. The host picks the cutoff (now minus a grace longer than any turn) and when
 * to run it; nothing here schedules itself.
 */
export async function reclaimOrphanedAttachments(
  manifest: AttachmentManifest,
  store: AttachmentStore,
  olderThanMs: number,
): Promise<AttachmentReclamationReport> {
  const rows = await manifest.listUncommitted(olderThanMs);
  let reclaimedCount = 0;
  for (const row of rows) {
    // Rows are per session but bytes are per content: another session may still need them.
    if (!(await manifest.isReferenced(row.attachmentId, olderThanMs))) await store.delete(row.attachmentId);
    await manifest.forget(row.sessionId, row.attachmentId);
    reclaimedCount += 1;
  }
  return { scannedIntentCount: rows.length, reclaimedCount };
}
