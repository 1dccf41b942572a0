/**
 * Queued work in the reference model: enqueue with source-key idempotency, the queue's
 * listings, cancel, and the removal every terminal state goes through.
 */
import { InvalidInputError, QueueFullError, describeValue } from '../../errors.js';
import { itemId, newBatchId } from '../../ids.js';
import type { EnqueueOutcome, QueuedBatchRef, QueuedWorkBatch, QueuedWorkBatchDraft, QueuedWorkBatchStatus, QueuePage } from '../contract.js';
import { assertAvailableAt, assertId, assertNonNegativeInteger, assertSessionId, normalizeDraft, parseQueuePage, type NormalizedDraft } from '../validate.js';
import { copy, isBatchHeld, sourceKeyOf, storeNow, type BatchRow, type MemoryState } from './state.js';
import { assertSameRequest } from '../idempotency.js';
import { taskSessionAdmitDraft } from './task-sessions.js';
import { tenantAdmitDraft } from './tenants.js';

const MAX_SCAN_LIMIT = 10_000;

/**
 * The batch a source key of this session currently answers with: the queued batch holding it,
 * else the memory of the batch that left the queue if younger than the retention. An expired
 * memory counts as absent even before `vacuum()` removes it. Null when the key is free. Reads only.
 */
export function sourceKeyLookup(state: MemoryState, sessionId: string, sourceKey: string, now: number): QueuedWorkBatch | null {
  const key = sourceKeyOf(sessionId, sourceKey);
  const queuedId = state.queuedSourceKeys.get(key);
  if (queuedId !== undefined) {
    const row = state.batches.get(queuedId);
    if (row) return row.batch;
  }
  const memory = state.sourceKeyMemories.get(key);
  if (memory && now - memory.finishedAtMs < state.sourceKeyRetentionMs) return memory.batch;
  return null;
}

/**
 * The batch a replay of this draft returns (nothing written), or null when its source key is
 * free. IdempotencyKeyReusedError when the key was taken by another request (`assertSameRequest`).
 */
export function sourceKeyReplay(state: MemoryState, draft: NormalizedDraft, now: number): QueuedWorkBatch | null {
  if (draft.sourceKey === null) return null;
  const existing = sourceKeyLookup(state, draft.sessionId, draft.sourceKey, now);
  if (!existing) return null;
  assertSameRequest(draft, state.sourceKeyHashes.get(sourceKeyOf(draft.sessionId, draft.sourceKey)) ?? null);
  return existing;
}

/**
 * Inserts a validated draft at the tail of the queue, or returns the batch its source key already
 * names (writing nothing). Shared by `enqueue` and the commit outbox. Returns a copy.
 */
export function batchInsert(state: MemoryState, draft: NormalizedDraft, now: number): EnqueueOutcome {
  const existing = sourceKeyReplay(state, draft, now);
  if (existing) return { batch: copy(existing), replayed: true };
  const batchId = newBatchId();
  state.lastEnqueueSeq += 1;
  const batch: QueuedWorkBatch = {
    batchId,
    sessionId: draft.sessionId,
    deliveryPolicy: draft.deliveryPolicy,
    slotPolicy: draft.slotPolicy,
    mergeKey: copy(draft.mergeKey),
    sourceKey: draft.sourceKey,
    availableAtMs: draft.availableAtMs,
    enqueueSeq: state.lastEnqueueSeq,
    enqueuedAtMs: now,
    items: draft.payloads.map((payload, index) => ({ itemId: itemId(batchId, index), payload: copy(payload) })),
    status: 'queued',
  };
  state.batches.set(batchId, { batch, claim: null, claimCount: 0, attempts: 0, lastError: null });
  if (draft.sourceKey !== null) {
    const key = sourceKeyOf(draft.sessionId, draft.sourceKey);
    state.queuedSourceKeys.set(key, batchId);
    // An expired memory is replaced by the new batch: the key now names it.
    state.sourceKeyMemories.delete(key);
    if (draft.requestHash !== null) state.sourceKeyHashes.set(key, draft.requestHash);
    else state.sourceKeyHashes.delete(key);
  }
  return { batch: copy(batch), replayed: false };
}

/**
 * Takes a batch out of the queue into a terminal state and leaves its source-key memory.
 * Returns the batch (a copy) with that status.
 */
export function batchRemove(state: MemoryState, row: BatchRow, status: Exclude<QueuedWorkBatchStatus, 'queued'>, now: number): QueuedWorkBatch {
  const batch = { ...copy(row.batch), status };
  state.batches.delete(batch.batchId);
  if (batch.sourceKey !== null) {
    const key = sourceKeyOf(batch.sessionId, batch.sourceKey);
    if (state.queuedSourceKeys.get(key) === batch.batchId) state.queuedSourceKeys.delete(key);
    state.sourceKeyMemories.set(key, { batch: copy(batch), finishedAtMs: now });
  }
  return batch;
}

/** Queued batches of one session (held or not, available or not) in `enqueueSeq` order. */
export function sessionRows(state: MemoryState, sessionId: string): BatchRow[] {
  const rows: BatchRow[] = [];
  for (const row of state.batches.values()) if (row.batch.sessionId === sessionId) rows.push(row);
  return rows;
}

/**
 * Validates the draft, applies the tenant rule and then the task-session rule (typed errors,
 * nothing written), refuses a draft over the session's queue cap unless its source key replays a
 * stored batch, then `batchInsert`; the first admitted enqueue of a session nobody owns makes it
 * the draft's tenant's.
 */
export function queueEnqueue(state: MemoryState, draft: QueuedWorkBatchDraft): EnqueueOutcome {
  const normalized = normalizeDraft(draft, state.limits);
  const now = storeNow(state);
  assertAvailableAt(normalized.availableAtMs, now, state.limits);
  tenantAdmitDraft(state, normalized);
  taskSessionAdmitDraft(state, normalized, now);
  const replay = normalized.sourceKey !== null && sourceKeyLookup(state, normalized.sessionId, normalized.sourceKey, now) !== null;
  if (!replay) queueCapCheck(state, normalized.sessionId);
  const outcome = batchInsert(state, normalized, now);
  if (!state.sessionTenants.has(normalized.sessionId)) state.sessionTenants.set(normalized.sessionId, normalized.tenantId);
  return outcome;
}

/** QueueFullError when the session already has `limits.maxQueuedBatchesPerSession` queued batches. Reads only. */
function queueCapCheck(state: MemoryState, sessionId: string): void {
  const limit = state.limits.maxQueuedBatchesPerSession;
  const queued = sessionRows(state, sessionId).length;
  if (queued >= limit) throw new QueueFullError(`session ${sessionId} already has ${queued} queued batches (the limit is ${limit})`, { sessionId, limit, queued });
}

/** The rows of a page: after `afterEnqueueSeq`, at most `limit`. */
function pageOf(rows: BatchRow[], page: QueuePage | undefined): BatchRow[] {
  const { afterEnqueueSeq, limit } = parseQueuePage(page);
  const after = rows.filter((row) => row.batch.enqueueSeq > afterEnqueueSeq);
  return limit === null ? after : after.slice(0, limit);
}

/** Deletes a queued batch of this session that no live claim holds; null if missing, foreign or held. */
export function queueCancel(state: MemoryState, sessionId: string, batchId: string): QueuedWorkBatch | null {
  assertSessionId(sessionId);
  assertId(batchId, 'batchId');
  const now = storeNow(state);
  const row = state.batches.get(batchId);
  if (!row || row.batch.sessionId !== sessionId || isBatchHeld(row, now)) return null;
  return batchRemove(state, row, 'cancelled', now);
}

/** The batch while it is queued (held or not); null otherwise. */
export function queueGet(state: MemoryState, batchId: string): QueuedWorkBatch | null {
  assertId(batchId, 'batchId');
  const row = state.batches.get(batchId);
  return row ? copy(row.batch) : null;
}

/** Queued batches of every session after `afterEnqueueSeq`, at most `limit`, in `enqueueSeq` order. */
export function queueScan(state: MemoryState, req: { afterEnqueueSeq: number; limit: number }): QueuedBatchRef[] {
  if (typeof req !== 'object' || req === null) throw InvalidInputError.field('scan', 'an object', describeValue(req));
  assertNonNegativeInteger(req.afterEnqueueSeq, 'afterEnqueueSeq');
  if (!Number.isSafeInteger(req.limit) || req.limit < 1 || req.limit > MAX_SCAN_LIMIT) {
    throw InvalidInputError.field('limit', `an integer from 1 to ${MAX_SCAN_LIMIT}`, describeValue(req.limit));
  }
  const now = storeNow(state);
  const refs: QueuedBatchRef[] = [];
  for (const row of state.batches.values()) {
    if (refs.length >= req.limit) break;
    if (row.batch.enqueueSeq <= req.afterEnqueueSeq) continue;
    refs.push({
      batchId: row.batch.batchId,
      sessionId: row.batch.sessionId,
      enqueueSeq: row.batch.enqueueSeq,
      availableAtMs: row.batch.availableAtMs,
      held: isBatchHeld(row, now),
    });
  }
  return refs;
}

/** The session's queued batches, held or not, in `enqueueSeq` order; one page of them with `page`. */
export function queueList(state: MemoryState, sessionId: string, page?: QueuePage): QueuedWorkBatch[] {
  assertSessionId(sessionId);
  return pageOf(sessionRows(state, sessionId), page).map((row) => copy(row.batch));
}

/** The session's queued batches that no live claim holds, in `enqueueSeq` order; one page of them with `page`. */
export function queueListPending(state: MemoryState, sessionId: string, page?: QueuePage): QueuedWorkBatch[] {
  assertSessionId(sessionId);
  const now = storeNow(state);
  return pageOf(
    sessionRows(state, sessionId).filter((row) => !isBatchHeld(row, now)),
    page,
  ).map((row) => copy(row.batch));
}
