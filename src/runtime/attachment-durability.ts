/**
 * A durable runtime store must not be paired with attachment bytes that vanish on restart (seed
 * 004's persistence tier): the manifest would say an attachment is committed while its bytes are
 * gone. A worker refuses that pairing when it is created unless told it is meant
 * (WorkerOptions.allowInlineAttachments).
 */
import { DurabilityMismatchError } from '../errors.js';
import type { AttachmentStore, RuntimeStore } from '../store/contract.js';

/** The tier an attachment store declares; one that says nothing is taken as `inline` (seed 004: Ephemeral by default). */
export function attachmentDurability(attachments: AttachmentStore): 'durable' | 'inline' {
  return attachments.durability ?? 'inline';
}

/** Throws DurabilityMismatchError for a durable store with an inline attachment store, unless allowed. */
export function assertAttachmentDurability(store: RuntimeStore, attachments: AttachmentStore, allowInline: boolean): void {
  if (allowInline || store.durability !== 'durable' || attachmentDurability(attachments) === 'durable') return;
  throw new DurabilityMismatchError(
    'attachments: expected a durable attachment store (createPostgresAttachmentStore) with a durable runtime store, got an inline one (its bytes are lost on restart); pass `attachments`, or `allowInlineAttachments: true` if that is meant',
    { storeDurability: store.durability, attachmentDurability: attachmentDurability(attachments) },
  );
}
