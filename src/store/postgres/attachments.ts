/**
 * The write-ahead attachment manifest in Postgres (spec 02 "Attachment manifest"): rows keyed by
 * (session_id, attachment_id) in attachment_manifest.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { AttachmentIntent, AttachmentManifest, AttachmentManifestRow } from '../contract.js';
import { assertId, assertNonNegativeInteger, assertSessionId } from '../validate.js';
import type { PgContext } from './context.js';
import { textArray } from './arrays.js';
import { runStatement } from './errors.js';

const MAX_URI_LENGTH = 2048;

interface ManifestRow {
  session_id: string;
  attachment_id: string;
  canonical_uri: string;
  intent_at_ms: number;
  committed_at_ms: number | null;
}

function assertIntent(intent: unknown): asserts intent is AttachmentIntent {
  if (typeof intent !== 'object' || intent === null) throw InvalidInputError.field('intent', 'an attachment intent', describeValue(intent));
  const i = intent as Partial<AttachmentIntent>;
  assertSessionId(i.sessionId, 'intent.sessionId');
  assertId(i.attachmentId, 'intent.attachmentId');
  if (typeof i.canonicalUri !== 'string' || i.canonicalUri.length === 0 || i.canonicalUri.length > MAX_URI_LENGTH) {
    throw InvalidInputError.field('intent.canonicalUri', `1–${MAX_URI_LENGTH} characters`, describeValue(i.canonicalUri));
  }
  if (i.intentAtMs !== undefined) assertNonNegativeInteger(i.intentAtMs, 'intent.intentAtMs');
}

/**
 * recordIntent: upserts the row, setting canonical_uri and intent_at_ms (store time when absent),
 * keeping committed_at_ms. Rows touched: one manifest row.
 */
export async function manifestRecordIntent(ctx: PgContext, intent: AttachmentIntent): Promise<void> {
  assertIntent(intent);
  await runStatement(
    () => ctx.sql`
      insert into attachment_manifest (session_id, attachment_id, canonical_uri, intent_at_ms)
      values (${intent.sessionId}, ${intent.attachmentId}, ${intent.canonicalUri},
        coalesce(${intent.intentAtMs ?? null}::bigint, ${ctx.clock.now()}))
      on conflict (session_id, attachment_id) do update
        set canonical_uri = excluded.canonical_uri, intent_at_ms = excluded.intent_at_ms`,
  );
}

/** commitRefs: stamps existing uncommitted rows of the session; other ids are ignored. */
export async function manifestCommitRefs(ctx: PgContext, sessionId: string, attachmentIds: string[]): Promise<void> {
  assertSessionId(sessionId);
  if (!Array.isArray(attachmentIds)) throw InvalidInputError.field('attachmentIds', 'an array of attachment ids', describeValue(attachmentIds));
  attachmentIds.forEach((id, i) => assertId(id, `attachmentIds[${i}]`));
  if (attachmentIds.length === 0) return;
  await runStatement(
    () => ctx.sql`
      update attachment_manifest set committed_at_ms = ${ctx.clock.now()}
      where session_id = ${sessionId} and attachment_id = any(${textArray(ctx.sql, attachmentIds)}) and committed_at_ms is null`,
  );
}

/** listUncommitted: uncommitted rows with intent_at_ms <= cutoff, by (attachment_id, session_id). */
export async function manifestListUncommitted(ctx: PgContext, olderThanMs: number): Promise<AttachmentManifestRow[]> {
  assertNonNegativeInteger(olderThanMs, 'olderThanMs');
  const rows = await runStatement(
    () => ctx.sql<ManifestRow[]>`
      select * from attachment_manifest where committed_at_ms is null and intent_at_ms <= ${olderThanMs}::bigint
      order by attachment_id, session_id`,
  );
  return rows.map((r) => ({
    sessionId: r.session_id,
    attachmentId: r.attachment_id,
    canonicalUri: r.canonical_uri,
    intentAtMs: r.intent_at_ms,
    committedAtMs: r.committed_at_ms,
  }));
}

/** isReferenced: some session committed the content, or recorded its intent after the cutoff. */
export async function manifestIsReferenced(ctx: PgContext, attachmentId: string, olderThanMs: number): Promise<boolean> {
  assertId(attachmentId, 'attachmentId');
  assertNonNegativeInteger(olderThanMs, 'olderThanMs');
  const [row] = await runStatement(
    () => ctx.sql<{ referenced: boolean }[]>`
      select exists (
        select 1 from attachment_manifest
        where attachment_id = ${attachmentId} and (committed_at_ms is not null or intent_at_ms > ${olderThanMs}::bigint)
      ) as referenced`,
  );
  return row!.referenced;
}

/** forget: deletes one row; no error when missing. */
export async function manifestForget(ctx: PgContext, sessionId: string, attachmentId: string): Promise<void> {
  assertSessionId(sessionId);
  assertId(attachmentId, 'attachmentId');
  await runStatement(() => ctx.sql`delete from attachment_manifest where session_id = ${sessionId} and attachment_id = ${attachmentId}`);
}

export function createManifest(ctx: PgContext): AttachmentManifest {
  return {
    recordIntent: (intent) => manifestRecordIntent(ctx, intent),
    commitRefs: (sessionId, ids) => manifestCommitRefs(ctx, sessionId, ids),
    listUncommitted: (olderThanMs) => manifestListUncommitted(ctx, olderThanMs),
    isReferenced: (attachmentId, olderThanMs) => manifestIsReferenced(ctx, attachmentId, olderThanMs),
    forget: (sessionId, attachmentId) => manifestForget(ctx, sessionId, attachmentId),
  };
}
