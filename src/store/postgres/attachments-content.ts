/**
 * Attachment content in Postgres: content-addressed bytes in attachment_content, keyed by the
 * SHA-256 of the bytes. The first writer's metadata stays (same id means same bytes).
 */
import { AttachmentNotFoundError } from '../../errors.js';
import { createSqlClient } from '../../../db/client.js';
import { attachmentRef } from '../attachments/content.js';
import type { AttachmentRef, AttachmentStore, StoredAttachment } from '../contract.js';
import { assertId } from '../validate.js';
import { runStatement } from './errors.js';

interface ContentRow {
  content_id: string;
  media_type: string;
  byte_length: number;
  width: number | null;
  height: number | null;
  label: string | null;
  bytes: Uint8Array;
}

function refFromRow(row: ContentRow): AttachmentRef {
  const ref: AttachmentRef = { id: row.content_id, mediaType: row.media_type, byteLength: row.byte_length };
  if (row.width !== null) ref.width = row.width;
  if (row.height !== null) ref.height = row.height;
  if (row.label !== null) ref.label = row.label;
  return ref;
}

export interface PostgresAttachmentStore extends AttachmentStore {
  close(): Promise<void>;
}

/**
 * A content store on its own small pool. `put` inserts once per content id (rows touched: one
 * attachment_content row); `get` throws AttachmentNotFoundError when absent; `delete` is idempotent.
 */
export function createPostgresAttachmentStore(options: { databaseUrl: string; maxConnections?: number }): PostgresAttachmentStore {
  const sql = createSqlClient(options.databaseUrl, { maxConnections: options.maxConnections ?? 4 });
  return {
    durability: 'durable',
    async put(bytes, meta) {
      const ref = attachmentRef(bytes, meta);
      await runStatement(
        () => sql`
          insert into attachment_content (content_id, media_type, byte_length, width, height, label, bytes)
          values (${ref.id}, ${ref.mediaType}, ${ref.byteLength}, ${ref.width ?? null}::int, ${ref.height ?? null}::int,
            ${ref.label ?? null}::text, ${Buffer.from(bytes)})
          on conflict (content_id) do nothing`,
      );
      return ref;
    },
    async get(id): Promise<StoredAttachment> {
      assertId(id, 'id');
      const rows = await runStatement(() => sql<ContentRow[]>`select * from attachment_content where content_id = ${id}`);
      const row = rows[0];
      if (!row) throw new AttachmentNotFoundError(`attachment ${id} is not stored`, { attachmentId: id });
      return { meta: refFromRow(row), bytes: new Uint8Array(row.bytes) };
    },
    async delete(id) {
      assertId(id, 'id');
      await runStatement(() => sql`delete from attachment_content where content_id = ${id}`);
    },
    async close() {
      await sql.end();
    },
  };
}
