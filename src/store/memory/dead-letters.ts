/**
 * Dead letters in the reference model: batches taken out of the queue with a reason after
 * repeated failed turns, kept until an operator requeues them.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { DeadLetter, DeadLetterPage, QueuedWorkBatch, TenantScope } from '../contract.js';
import { tenantScopeOf, tenantSees } from './tenants.js';
import { assertId, assertSessionId, parseDeadLetterPage } from '../validate.js';
import { batchRemove } from './queue.js';
import { copy, isBatchHeld, sourceKeyOf, storeNow, type BatchRow, type MemoryState } from './state.js';

const MAX_REASON_LENGTH = 4096;

/**
 * Moves one queued row out of the queue into a dead letter (leaving its source-key memory) and
 * returns a copy. The caller has checked that no live claim holds it.
 */
export function deadLetterRow(state: MemoryState, row: BatchRow, reason: string, now: number): DeadLetter {
  const batch = batchRemove(state, row, 'dead_lettered', now);
  const deadLetter: DeadLetter = {
    batchId: batch.batchId,
    sessionId: batch.sessionId,
    reason,
    attempts: row.attempts,
    deadLetteredAtMs: now,
    batch,
  };
  state.deadLetters.set(batch.batchId, { deadLetter, claimCount: row.claimCount });
  return copy(deadLetter);
}

/** Dead-letters a queued, unheld batch of this session; null if it is missing, foreign or held. */
export function queueDeadLetter(state: MemoryState, sessionId: string, batchId: string, reason: string): DeadLetter | null {
  assertSessionId(sessionId);
  assertId(batchId, 'batchId');
  if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH) {
    throw InvalidInputError.field('reason', `a string of at most ${MAX_REASON_LENGTH} characters`, describeValue(reason));
  }
  const now = storeNow(state);
  const row = state.batches.get(batchId);
  if (!row || row.batch.sessionId !== sessionId || isBatchHeld(row, now)) return null;
  return deadLetterRow(state, row, reason, now);
}

/**
 * Dead letters of one session, or of all, ordered by `deadLetteredAtMs` then the batch's
 * `enqueueSeq`; with page fields, those after the cursor, at most the limit; with `tenantId`, only
 * that tenant's sessions.
 */
export function queueListDeadLetters(state: MemoryState, sessionId?: string, options?: DeadLetterPage & TenantScope): DeadLetter[] {
  if (sessionId !== undefined) assertSessionId(sessionId);
  const { after, limit } = parseDeadLetterPage(options);
  const tenantId = tenantScopeOf(options);
  const sorted = [...state.deadLetters.values()]
    .map((row) => row.deadLetter)
    .filter((dl) => (sessionId === undefined || dl.sessionId === sessionId) && tenantSees(state, tenantId, dl.sessionId))
    .filter((dl) => after === null || dl.deadLetteredAtMs > after.deadLetteredAtMs || (dl.deadLetteredAtMs === after.deadLetteredAtMs && dl.batch.enqueueSeq > after.enqueueSeq))
    .sort((a, b) => a.deadLetteredAtMs - b.deadLetteredAtMs || a.batch.enqueueSeq - b.batch.enqueueSeq);
  return (limit === null ? sorted : sorted.slice(0, limit)).map((dl) => copy(dl));
}

/**
 * Puts a dead letter back at the tail of its session's queue: same batch id, items, policies and
 * source key; new `enqueueSeq`; attempts 0; claim counter kept. Null when there is no such dead letter.
 */
export function queueRequeueDeadLetter(state: MemoryState, batchId: string, scope?: TenantScope): QueuedWorkBatch | null {
  assertId(batchId, 'batchId');
  const tenantId = tenantScopeOf(scope);
  const dead = state.deadLetters.get(batchId);
  if (!dead || !tenantSees(state, tenantId, dead.deadLetter.sessionId)) return null;
  state.deadLetters.delete(batchId);
  state.lastEnqueueSeq += 1;
  const batch: QueuedWorkBatch = { ...copy(dead.deadLetter.batch), enqueueSeq: state.lastEnqueueSeq, status: 'queued' };
  state.batches.set(batchId, { batch, claim: null, claimCount: dead.claimCount, attempts: 0, lastError: null });
  if (batch.sourceKey !== null) {
    const key = sourceKeyOf(batch.sessionId, batch.sourceKey);
    state.sourceKeyMemories.delete(key);
    state.queuedSourceKeys.set(key, batchId);
  }
  return copy(batch);
}
