/**
 * The write-ahead wrapper around a content store for one session: every put records its intent
 * in the manifest first, so bytes written by a turn that never commits can be found and
 * reclaimed (`reclaimOrphanedAttachments`).
 */
import { TurnlaneError } from '../../errors.js';
import type { AttachmentCreateMeta, AttachmentManifest, AttachmentRef, AttachmentStore, StoredAttachment } from '../contract.js';
import { contentId } from './content.js';

/** The inner store named a put by another id than the SHA-256 of its bytes. */
export class AttachmentIdMismatchError extends TurnlaneError {
  readonly code = 'ATTACHMENT_ID_MISMATCH';
}

export class SessionScopedAttachmentStore implements AttachmentStore {
  readonly #inner: AttachmentStore;
  readonly #manifest: AttachmentManifest;
  readonly #sessionId: string;
  /** Ids put through this wrapper that the next turn commit must stamp, in put order. */
  readonly #pending = new Set<string>();

  constructor(inner: AttachmentStore, manifest: AttachmentManifest, sessionId: string) {
    this.#inner = inner;
    this.#manifest = manifest;
    this.#sessionId = sessionId;
  }

  /** Records the intent (store time), then puts; a failed intent fails the put before any bytes land. */
  async put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef> {
    const id = contentId(bytes);
    await this.#manifest.recordIntent({ sessionId: this.#sessionId, attachmentId: id, canonicalUri: `sha256:${id}` });
    const ref = await this.#inner.put(bytes, meta);
    if (ref.id !== id) {
      throw new AttachmentIdMismatchError(`the content store named the put ${ref.id}, its intent was recorded as ${id}`, {
        expected: id,
        got: ref.id,
      });
    }
    this.#pending.add(id);
    return ref;
  }

  get(id: string): Promise<StoredAttachment> {
    return this.#inner.get(id);
  }

  /** Content-addressed and unguarded: `reclaimOrphanedAttachments` is the safe caller. */
  delete(id: string): Promise<void> {
    return this.#inner.delete(id);
  }

  /** The ids the next turn commit must list in `committedAttachmentIds`, in put order. */
  pendingManifestCommitIds(): string[] {
    return [...this.#pending];
  }

  /** Forgets ids a successful turn commit stamped; unknown ids are ignored. */
  markManifestCommitted(ids: string[]): void {
    for (const id of ids) this.#pending.delete(id);
  }
}
