/**
 * Content-addressed attachment bytes held in process memory: the content store for tests and
 * the demo's dry-run mode. The Postgres content store lives in src/store/postgres.
 */
import { createHash } from 'node:crypto';
import { AttachmentNotFoundError, InvalidInputError, describeValue } from '../../errors.js';
import type { AttachmentCreateMeta, AttachmentRef, AttachmentStore, StoredAttachment } from '../contract.js';

/** The content id of attachment bytes: lowercase hex SHA-256. */
export function contentId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The reference a put returns: identity and length come from the bytes, the rest from `meta`. */
export function attachmentRef(bytes: Uint8Array, meta: AttachmentCreateMeta): AttachmentRef {
  if (!(bytes instanceof Uint8Array)) throw InvalidInputError.field('bytes', 'a Uint8Array', describeValue(bytes));
  if (typeof meta !== 'object' || meta === null || typeof meta.mediaType !== 'string' || meta.mediaType.length === 0) {
    throw InvalidInputError.field('meta.mediaType', 'a non-empty string', describeValue((meta as AttachmentCreateMeta | null)?.mediaType));
  }
  const ref: AttachmentRef = { id: contentId(bytes), mediaType: meta.mediaType, byteLength: bytes.byteLength };
  if (meta.width !== undefined) ref.width = meta.width;
  if (meta.height !== undefined) ref.height = meta.height;
  if (meta.label !== undefined) ref.label = meta.label;
  return ref;
}

class InMemoryAttachmentStore implements AttachmentStore {
  readonly durability = 'inline';
  readonly #objects = new Map<string, StoredAttachment>();

  async put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef> {
    const ref = attachmentRef(bytes, meta);
    // The first writer's metadata stays, as in the Postgres content store: same id, same bytes.
    // Copy in: a caller reusing its buffer must not change stored content behind its id.
    if (!this.#objects.has(ref.id)) this.#objects.set(ref.id, { meta: { ...ref }, bytes: Uint8Array.from(bytes) });
    return { ...ref };
  }

  async get(id: string): Promise<StoredAttachment> {
    const stored = this.#objects.get(id);
    if (!stored) throw new AttachmentNotFoundError(`attachment ${id} is not stored`, { attachmentId: id });
    return { meta: { ...stored.meta }, bytes: Uint8Array.from(stored.bytes) };
  }

  async delete(id: string): Promise<void> {
    this.#objects.delete(id);
  }
}

export function createInMemoryAttachmentStore(): AttachmentStore {
  return new InMemoryAttachmentStore();
}
