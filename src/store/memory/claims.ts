/**
 * Claims on queued work in the reference model: selection at the two boundaries, exact and
 * session-command claims, renewal and abandon (spec 02 "Queued work").
 */
import { InvalidInputError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError, describeValue } from '../../errors.js';
import { newClaimId, newSecretToken } from '../../ids.js';
import type {
  ClaimBoundary,
  ClaimByBatchIdsRequest,
  ClaimedBatch,
  ClaimFailure,
  ClaimLeadingSessionCommandRequest,
  ClaimNextRequest,
  ClaimNextResult,
  ClaimReadyRequest,
  DeadLetter,
  LeaseFence,
  LeaseOwner,
  QueuedWorkClaim,
} from '../contract.js';
import { assertBoundary, assertClaim, assertId, assertPositiveInteger, assertSessionId, assertTtl, parseFence, parseOwner } from '../validate.js';
import { exhaustedReason } from '../reasons.js';
import { deadLetterRow } from './dead-letters.js';
import { fenceValidate, leaseReleaseGuarded } from './leases.js';
import { sessionRows } from './queue.js';
import { copy, isBatchHeld, isClaimLive, isSessionCommandBatch, storeNow, type BatchRow, type MemoryState } from './state.js';

/**
 * Available, unheld queued batches of the session in `enqueueSeq` order; the first is the queue
 * head. With `retake` (claimNext), batches held by a claim of that same owner and incarnation count
 * as unheld.
 */
function candidates(state: MemoryState, sessionId: string, now: number, retake?: LeaseOwner): BatchRow[] {
  const ownLeak = (row: BatchRow) =>
    retake !== undefined && row.claim !== null && row.claim.owner.ownerId === retake.ownerId && row.claim.owner.incarnationId === retake.incarnationId;
  return sessionRows(state, sessionId).filter((row) => row.batch.availableAtMs <= now && (!isBatchHeld(row, now) || ownLeak(row)));
}

/**
 * The group `claimReady` takes now: empty when there is no head, the head is a session command,
 * or a mid-turn claim meets an after-commit head; the head alone when it is exclusive; else the
 * head and the directly following compatible `join` batches up to `maxBatches`.
 */
function claimSelection(state: MemoryState, sessionId: string, boundary: ClaimBoundary, maxBatches: number, now: number, retake?: LeaseOwner): BatchRow[] {
  if (maxBatches <= 0) return [];
  const rows = candidates(state, sessionId, now, retake);
  const head = rows[0];
  if (!head || isSessionCommandBatch(head.batch)) return [];
  if (boundary === 'active_turn_checkpoint' && head.batch.deliveryPolicy !== 'earliest_safe_boundary') return [];
  const selected = [head];
  const headKey = head.batch.mergeKey;
  if (head.batch.slotPolicy === 'exclusive' || headKey.kind === 'never') return selected;
  for (const row of rows.slice(1)) {
    if (selected.length >= maxBatches) break;
    const b = row.batch;
    const joins =
      !isSessionCommandBatch(b) &&
      b.slotPolicy === 'join' &&
      b.deliveryPolicy === head.batch.deliveryPolicy &&
      b.mergeKey.kind === 'group' &&
      b.mergeKey.key === headKey.key;
    if (!joins) break;
    selected.push(row);
  }
  return selected;
}

/** Stamps a new claim on every selected row (claim counter + 1 each) and returns it. */
function claimStamp(state: MemoryState, rows: BatchRow[], sessionId: string, owner: LeaseOwner, ttlMs: number, now: number): QueuedWorkClaim {
  const claimId = newClaimId();
  const claimToken = newSecretToken();
  for (const row of rows) {
    row.claimCount += 1;
    row.claim = { claimId, claimToken, owner: copy(owner), claimedAtMs: now, expiresAtMs: now + ttlMs };
  }
  return {
    sessionId,
    claimId,
    owner: copy(owner),
    claimToken,
    fencingToken: rows[0]!.claimCount,
    claimedAtMs: now,
    expiresAtMs: now + ttlMs,
    batches: rows.map(claimedBatch),
  };
}

/** The row's batch as a claim hands it out: with its attempts and last error. */
function claimedBatch(row: BatchRow): ClaimedBatch {
  return { ...copy(row.batch), attempts: row.attempts, lastError: row.lastError };
}

/** A claim's fence must be live and name the requested session, else SessionLeaseExpiredError. */
function claimFenceValidate(state: MemoryState, sessionId: string, fence: LeaseFence, now: number): void {
  const parsed = parseFence(fence);
  if (parsed.sessionId !== sessionId) {
    throw new SessionLeaseExpiredError(`the lease fence names session ${parsed.sessionId}, not ${sessionId}`, { sessionId });
  }
  fenceValidate(state, parsed, now);
}

function assertRequest(req: unknown): asserts req is Record<string, unknown> {
  if (typeof req !== 'object' || req === null) throw InvalidInputError.field('req', 'an object', describeValue(req));
}

/**
 * Claims the ready group at the boundary (see `claimSelection`) under a live fence. Null when
 * nothing qualifies or `maxBatches <= 0`; `maxBatches` above the limit is clamped.
 */
export function claimReady(state: MemoryState, req: ClaimReadyRequest): QueuedWorkClaim | null {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertBoundary(req.boundary);
  assertTtl(req.ttlMs, state.limits);
  if (!Number.isSafeInteger(req.maxBatches)) throw InvalidInputError.field('maxBatches', 'an integer', describeValue(req.maxBatches));
  const now = storeNow(state);
  claimFenceValidate(state, req.sessionId, req.fence, now);
  if (req.maxAttempts !== undefined) {
    assertPositiveInteger(req.maxAttempts, 'maxAttempts');
    deadLetterExhausted(state, req.sessionId, req.maxAttempts, now);
  }
  const maxBatches = Math.min(req.maxBatches, state.limits.maxBatchesPerClaim);
  const rows = claimSelection(state, req.sessionId, req.boundary, maxBatches, now);
  return rows.length === 0 ? null : claimStamp(state, rows, req.sessionId, owner, req.ttlMs, now);
}

/** Dead-letters the session's unheld batches whose attempts reached `maxAttempts`, with their last error. */
function deadLetterExhausted(state: MemoryState, sessionId: string, maxAttempts: number, now: number): void {
  for (const row of sessionRows(state, sessionId)) {
    if (row.attempts >= maxAttempts && !isBatchHeld(row, now)) {
      deadLetterRow(state, row, row.lastError ?? exhaustedReason(row.attempts), now);
    }
  }
}

/**
 * Claims exactly `batchIds` iff, in order, they are the group `claimReady` would select now with
 * `maxBatches = batchIds.length`. Otherwise null and nothing is written.
 */
export function claimByBatchIds(state: MemoryState, req: ClaimByBatchIdsRequest): QueuedWorkClaim | null {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertBoundary(req.boundary);
  assertTtl(req.ttlMs, state.limits);
  if (!Array.isArray(req.batchIds)) throw InvalidInputError.field('batchIds', 'an array of batch ids', describeValue(req.batchIds));
  req.batchIds.forEach((id, i) => assertId(id, `batchIds[${i}]`));
  const now = storeNow(state);
  claimFenceValidate(state, req.sessionId, req.fence, now);
  if (req.batchIds.length === 0) return null;
  const maxBatches = Math.min(req.batchIds.length, state.limits.maxBatchesPerClaim);
  const rows = claimSelection(state, req.sessionId, req.boundary, maxBatches, now);
  const exact = rows.length === req.batchIds.length && rows.every((row, i) => row.batch.batchId === req.batchIds[i]);
  return exact ? claimStamp(state, rows, req.sessionId, owner, req.ttlMs, now) : null;
}

/** Claims the queue head alone iff it is a session-command batch (no delivery gate); else null. */
export function claimLeadingSessionCommand(state: MemoryState, req: ClaimLeadingSessionCommandRequest): QueuedWorkClaim | null {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertTtl(req.ttlMs, state.limits);
  const now = storeNow(state);
  claimFenceValidate(state, req.sessionId, req.fence, now);
  const head = candidates(state, req.sessionId, now)[0];
  if (!head || !isSessionCommandBatch(head.batch)) return null;
  return claimStamp(state, [head], req.sessionId, owner, req.ttlMs, now);
}

/**
 * The head session command alone, else the ready group at the idle boundary. With
 * `releaseLeaseWhenEmpty`, releases the lease under the fence when nothing is claimed.
 */
export function claimNext(state: MemoryState, req: ClaimNextRequest): ClaimNextResult {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertTtl(req.ttlMs, state.limits);
  if (!Number.isSafeInteger(req.maxBatches)) throw InvalidInputError.field('maxBatches', 'an integer', describeValue(req.maxBatches));
  if (req.releaseLeaseWhenEmpty !== undefined && typeof req.releaseLeaseWhenEmpty !== 'boolean') {
    throw InvalidInputError.field('releaseLeaseWhenEmpty', 'a boolean', describeValue(req.releaseLeaseWhenEmpty));
  }
  const now = storeNow(state);
  claimFenceValidate(state, req.sessionId, req.fence, now);
  if (req.maxAttempts !== undefined) {
    assertPositiveInteger(req.maxAttempts, 'maxAttempts');
    deadLetterExhausted(state, req.sessionId, req.maxAttempts, now);
  }
  // Between turns the holder holds no claim of its own: one it could not abandon is taken again.
  const head = candidates(state, req.sessionId, now, owner)[0];
  const rows =
    req.maxBatches <= 0
      ? []
      : head && isSessionCommandBatch(head.batch)
      ? [head]
      : claimSelection(state, req.sessionId, 'idle', Math.min(req.maxBatches, state.limits.maxBatchesPerClaim), now, owner);
  if (rows.length > 0) return { claim: claimStamp(state, rows, req.sessionId, owner, req.ttlMs, now), leaseReleased: false };
  if (!req.releaseLeaseWhenEmpty) return { claim: null, leaseReleased: false };
  leaseReleaseGuarded(state, parseFence(req.fence), now);
  return { claim: null, leaseReleased: true };
}

/** Whether `claimNext` for `owner` would claim something now (reads only). */
export function hasClaimableNext(state: MemoryState, sessionId: string, maxBatches: number, now: number, owner: LeaseOwner): boolean {
  return maxBatches > 0 && candidates(state, sessionId, now, owner).length > 0;
}

/** Whether the session has unheld batches at `maxAttempts` (a claim with maxAttempts dead-letters them first). */
export function hasSpentBatches(state: MemoryState, sessionId: string, maxAttempts: number | undefined, now: number): boolean {
  return maxAttempts !== undefined && sessionRows(state, sessionId).some((row) => row.attempts >= maxAttempts && !isBatchHeld(row, now));
}

/** The claim's batches still queued in its session under its claim id and token (expired or not), in `enqueueSeq` order. */
function rowsCarryingClaim(state: MemoryState, claim: QueuedWorkClaim): BatchRow[] {
  const named = new Set(claim.batches.map((b) => b.batchId));
  return sessionRows(state, claim.sessionId).filter(
    (row) =>
      named.has(row.batch.batchId) && row.claim !== null && row.claim.claimId === claim.claimId && row.claim.claimToken === claim.claimToken,
  );
}

/**
 * Extends a claim whose every batch is still queued under its id and token and not expired.
 * Otherwise QueuedWorkClaimExpiredError. Returns the claim with the new expiry.
 */
export function claimRenew(state: MemoryState, claim: QueuedWorkClaim, ttlMs: number): QueuedWorkClaim {
  assertClaim(claim);
  assertTtl(ttlMs, state.limits);
  const now = storeNow(state);
  const rows = claim.batches.map((b) => state.batches.get(b.batchId));
  const owned = rows.every(
    (row) =>
      row !== undefined &&
      row.batch.sessionId === claim.sessionId &&
      isClaimLive(row.claim, now) &&
      row.claim.claimId === claim.claimId &&
      row.claim.claimToken === claim.claimToken,
  );
  if (!owned) throw new QueuedWorkClaimExpiredError(`claim ${claim.claimId} no longer owns its batches`, { claimId: claim.claimId });
  for (const row of rows) row!.claim!.expiresAtMs = now + ttlMs;
  return { ...copy(claim), expiresAtMs: now + ttlMs, batches: rows.map((row) => claimedBatch(row!)) };
}

/**
 * Clears the claim from the rows still carrying it (their claim counters stay). With a failure,
 * counts an attempt on each and dead-letters those at `maxAttempts`, returning those dead letters.
 * No error when nothing matches.
 */
export function claimAbandon(state: MemoryState, claim: QueuedWorkClaim, failure?: ClaimFailure): DeadLetter[] {
  assertClaim(claim);
  if (failure !== undefined) {
    if (typeof failure !== 'object' || failure === null || typeof failure.reason !== 'string') {
      throw InvalidInputError.field('failure.reason', 'a string', describeValue((failure as ClaimFailure | null)?.reason));
    }
    if (!Number.isSafeInteger(failure.maxAttempts) || failure.maxAttempts < 1) {
      throw InvalidInputError.field('failure.maxAttempts', 'a positive integer', describeValue(failure.maxAttempts));
    }
  }
  const now = storeNow(state);
  const deadLetters: DeadLetter[] = [];
  for (const row of rowsCarryingClaim(state, claim)) {
    row.claim = null;
    if (!failure) continue;
    row.attempts += 1;
    row.lastError = failure.reason;
    if (row.attempts >= failure.maxAttempts) deadLetters.push(deadLetterRow(state, row, failure.reason, now));
  }
  return deadLetters;
}
