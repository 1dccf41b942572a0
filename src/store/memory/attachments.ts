/**
 * The write-ahead attachment manifest in the reference model: rows keyed by
 * (sessionId, attachmentId), recorded before bytes are put and stamped by the turn commit that
 * makes them reachable.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { AttachmentIntent, AttachmentManifestRow } from '../contract.js';
import { assertId, assertNonNegativeInteger, assertSessionId } from '../validate.js';
import { copy, manifestKeyOf, storeNow, type MemoryState } from './state.js';

const MAX_URI_LENGTH = 2048;

function assertIds(ids: unknown, field: string): asserts ids is string[] {
  if (!Array.isArray(ids)) throw InvalidInputError.field(field, 'an array of attachment ids', describeValue(ids));
  ids.forEach((id, i) => assertId(id, `${field}[${i}]`));
}

/**
 * Stamps `committedAtMs = now` on this session's existing uncommitted rows for `attachmentIds`;
 * other ids are ignored. Shared by `commitRefs` and the turn commit (step 8).
 */
export function manifestCommitRefsAt(state: MemoryState, sessionId: string, attachmentIds: string[], now: number): void {
  for (const attachmentId of attachmentIds) {
    const row = state.manifest.get(manifestKeyOf(sessionId, attachmentId));
    if (row && row.committedAtMs === null) row.committedAtMs = now;
  }
}

/** Upserts an intent: sets `canonicalUri` and `intentAtMs` (store time when absent), keeps a commit stamp. */
export function manifestRecordIntent(state: MemoryState, intent: AttachmentIntent): void {
  if (typeof intent !== 'object' || intent === null) throw InvalidInputError.field('intent', 'an attachment intent', describeValue(intent));
  assertSessionId(intent.sessionId, 'intent.sessionId');
  assertId(intent.attachmentId, 'intent.attachmentId');
  if (typeof intent.canonicalUri !== 'string' || intent.canonicalUri.length === 0 || intent.canonicalUri.length > MAX_URI_LENGTH) {
    throw InvalidInputError.field('intent.canonicalUri', `1–${MAX_URI_LENGTH} characters`, describeValue(intent.canonicalUri));
  }
  if (intent.intentAtMs !== undefined) assertNonNegativeInteger(intent.intentAtMs, 'intent.intentAtMs');
  const key = manifestKeyOf(intent.sessionId, intent.attachmentId);
  const previous = state.manifest.get(key);
  state.manifest.set(key, {
    sessionId: intent.sessionId,
    attachmentId: intent.attachmentId,
    canonicalUri: intent.canonicalUri,
    intentAtMs: intent.intentAtMs ?? storeNow(state),
    committedAtMs: previous?.committedAtMs ?? null,
  });
}

/** Validated `manifestCommitRefsAt` at store time. */
export function manifestCommitRefs(state: MemoryState, sessionId: string, attachmentIds: string[]): void {
  assertSessionId(sessionId);
  assertIds(attachmentIds, 'attachmentIds');
  manifestCommitRefsAt(state, sessionId, attachmentIds, storeNow(state));
}

/** Uncommitted rows with `intentAtMs <= olderThanMs`, ordered by (attachmentId, sessionId); empty when none. */
export function manifestListUncommitted(state: MemoryState, olderThanMs: number): AttachmentManifestRow[] {
  assertNonNegativeInteger(olderThanMs, 'olderThanMs');
  return [...state.manifest.values()]
    .filter((row) => row.committedAtMs === null && row.intentAtMs <= olderThanMs)
    .sort((a, b) => compareCodeUnits(a.attachmentId, b.attachmentId) || compareCodeUnits(a.sessionId, b.sessionId))
    .map((row) => copy(row));
}

/** True when some session committed this content or recorded an intent for it after `olderThanMs`. */
export function manifestIsReferenced(state: MemoryState, attachmentId: string, olderThanMs: number): boolean {
  assertId(attachmentId, 'attachmentId');
  assertNonNegativeInteger(olderThanMs, 'olderThanMs');
  for (const row of state.manifest.values()) {
    if (row.attachmentId !== attachmentId) continue;
    if (row.committedAtMs !== null || row.intentAtMs > olderThanMs) return true;
  }
  return false;
}

/** Deletes one row; nothing when it is missing. */
export function manifestForget(state: MemoryState, sessionId: string, attachmentId: string): void {
  assertSessionId(sessionId);
  assertId(attachmentId, 'attachmentId');
  state.manifest.delete(manifestKeyOf(sessionId, attachmentId));
}

// Byte order of the ids (they are ASCII in practice), the order Postgres gives under COLLATE "C".
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
