/**
 * Session execution leases in the reference model (spec 02 "Session execution leases").
 * One row per session, never deleted, so the fencing token only ever grows.
 */
import { SessionLeaseExpiredError } from '../../errors.js';
import { newSecretToken } from '../../ids.js';
import type { LeaseClaimOutcome, LeaseFence, LeaseOwner, SessionLease } from '../contract.js';
import { isProcessDead } from '../liveness.js';
import { assertHostQuery, assertSessionId, assertTtl, parseFence, parseOwner } from '../validate.js';
import { INTERRUPTED_TURN } from '../reasons.js';
import { copy, storeNow, type LeaseRow, type MemoryState } from './state.js';

function isLeaseLive(row: LeaseRow, now: number): boolean {
  return row.leaseToken !== null && row.expiresAtMs > now;
}

function sameIdentity(a: LeaseOwner, b: LeaseOwner): boolean {
  return a.ownerId === b.ownerId && a.incarnationId === b.incarnationId;
}

/** Owner, incarnation, token and fencing token all match; liveness is not identity. */
function matchesFence(row: LeaseRow, fence: LeaseFence): boolean {
  return (
    row.leaseToken !== null &&
    row.sessionId === fence.sessionId &&
    sameIdentity(row.owner, fence.owner) &&
    row.leaseToken === fence.leaseToken &&
    row.fencingToken === fence.fencingToken
  );
}

function toLease(row: LeaseRow): SessionLease {
  return copy({
    sessionId: row.sessionId,
    owner: row.owner,
    leaseToken: row.leaseToken ?? '',
    fencingToken: row.fencingToken,
    claimedAtMs: row.claimedAtMs,
    expiresAtMs: row.expiresAtMs,
  });
}

/**
 * A new holder: new token, fencing token + 1 (1 on a new row). Writes the session's lease row.
 * Taking over a holder that did not release (its lease expired, or it was provably dead) also
 * drops that holder's claims on the session's batches: they can never be completed (its fence is
 * stale), and while held they would hide the queue head from the new holder, who would then run
 * later input first (docs/store-semantics.md, "a claim dies with its lease's takeover").
 */
function acquire(state: MemoryState, sessionId: string, owner: LeaseOwner, ttlMs: number, now: number): SessionLease {
  const previous = state.leases.get(sessionId);
  if (previous && previous.leaseToken !== null) dropClaimsOf(state, sessionId, previous.owner);
  const row: LeaseRow = {
    sessionId,
    owner: copy(owner),
    leaseToken: newSecretToken(),
    fencingToken: (previous?.fencingToken ?? 0) + 1,
    claimedAtMs: now,
    expiresAtMs: now + ttlMs,
  };
  state.leases.set(sessionId, row);
  return toLease(row);
}

/**
 * Clears the claims `owner` holds on the session's batches and marks each batch interrupted (their
 * turn never reached a commit or an abandon); only a claim marked alone counts an attempt. Claim
 * counters stay.
 */
function dropClaimsOf(state: MemoryState, sessionId: string, owner: LeaseOwner): void {
  for (const row of state.batches.values()) {
    if (row.batch.sessionId === sessionId && row.claim && sameIdentity(row.claim.owner, owner)) {
      if (row.claim.alone) row.attempts += 1;
      row.claim = null;
      row.lastError = INTERRUPTED_TURN;
    }
  }
}

/**
 * The fence check every claim and commit makes: the lease row of `fence.sessionId` exists, is
 * live, and matches owner, incarnation, token and fencing token. Throws SessionLeaseExpiredError
 * otherwise. Reads only.
 */
export function fenceValidate(state: MemoryState, fence: LeaseFence | undefined, now: number): LeaseRow {
  if (!fence) throw new SessionLeaseExpiredError('no lease fence was presented');
  const row = state.leases.get(fence.sessionId);
  if (!row || !matchesFence(row, fence) || !isLeaseLive(row, now)) {
    throw new SessionLeaseExpiredError(`the lease fence of session ${fence.sessionId} is not live`, { sessionId: fence.sessionId });
  }
  return row;
}

/**
 * Clears the holder if the completion matches it exactly; otherwise nothing (a stale or repeated
 * release never clears a newer holder). Accepted after expiry. Shared by `release` and commits.
 */
export function leaseReleaseGuarded(state: MemoryState, completion: LeaseFence, now: number): void {
  const row = state.leases.get(completion.sessionId);
  if (!row || !matchesFence(row, completion)) return;
  row.leaseToken = null;
  row.expiresAtMs = now;
}

/**
 * Acquires a free lease, re-enters a live one held by the same owner and incarnation (same token
 * and fencing token, new expiry), or returns `busy` with the live holder.
 */
export function leaseTryClaim(state: MemoryState, sessionId: string, owner: LeaseOwner, ttlMs: number): LeaseClaimOutcome {
  assertSessionId(sessionId);
  const parsedOwner = parseOwner(owner);
  assertTtl(ttlMs, state.limits);
  const now = storeNow(state);
  const row = state.leases.get(sessionId);
  if (row && isLeaseLive(row, now)) {
    if (!sameIdentity(row.owner, parsedOwner)) return { kind: 'busy', holder: toLease(row) };
    row.expiresAtMs = now + ttlMs;
    return { kind: 'acquired', lease: toLease(row) };
  }
  return { kind: 'acquired', lease: acquire(state, sessionId, parsedOwner, ttlMs, now) };
}

/**
 * Acquires a lease that is not live, or takes over a live one only when its holder is exactly
 * `observedHolder` and provably dead as seen from `owner` (same host and boot, pid gone or
 * reused). Anything else is `busy`.
 */
export function leaseReclaim(
  state: MemoryState,
  sessionId: string,
  owner: LeaseOwner,
  observedHolder: LeaseFence,
  ttlMs: number,
): LeaseClaimOutcome {
  assertSessionId(sessionId);
  const parsedOwner = parseOwner(owner);
  const observed = parseFence(observedHolder, 'observedHolder');
  assertTtl(ttlMs, state.limits);
  const now = storeNow(state);
  const row = state.leases.get(sessionId);
  if (!row || !isLeaseLive(row, now)) return { kind: 'acquired', lease: acquire(state, sessionId, parsedOwner, ttlMs, now) };
  if (matchesFence(row, observed) && isProcessDead(row.owner.liveness, parsedOwner.liveness)) {
    return { kind: 'acquired', lease: acquire(state, sessionId, parsedOwner, ttlMs, now) };
  }
  return { kind: 'busy', holder: toLease(row) };
}

/** Extends a live lease that matches the fence exactly; never resurrects an expired one. */
export function leaseRenew(state: MemoryState, fence: LeaseFence, ttlMs: number): SessionLease {
  const parsed = parseFence(fence);
  assertTtl(ttlMs, state.limits);
  const now = storeNow(state);
  const row = fenceValidate(state, parsed, now);
  row.expiresAtMs = now + ttlMs;
  return toLease(row);
}

/** Guarded release (see `leaseReleaseGuarded`). Never throws for a stale completion. */
export function leaseRelease(state: MemoryState, completion: LeaseFence): void {
  const parsed = parseFence(completion, 'completion');
  leaseReleaseGuarded(state, parsed, storeNow(state));
}

/** The lease row for operators; null when the session was never leased, `leaseToken: ''` once released. */
export function leaseGet(state: MemoryState, sessionId: string): SessionLease | null {
  assertSessionId(sessionId);
  const row = state.leases.get(sessionId);
  return row ? toLease(row) : null;
}

/** Hands a live lease to `nextOwner`: new token, fencing token + 1. Throws SessionLeaseExpiredError if the fence is not live. */
export function leaseTransfer(state: MemoryState, fence: LeaseFence, nextOwner: LeaseOwner, ttlMs: number): SessionLease {
  const parsed = parseFence(fence);
  const parsedOwner = parseOwner(nextOwner, 'nextOwner');
  assertTtl(ttlMs, state.limits);
  const now = storeNow(state);
  const row = fenceValidate(state, parsed, now);
  return acquire(state, row.sessionId, parsedOwner, ttlMs, now);
}

/** Live leases of `local_process` owners on this host and boot, by session id, at most `limit`. */
export function leaseListLiveOnHost(state: MemoryState, req: { hostId: string; bootId: string; limit: number }): SessionLease[] {
  assertHostQuery(req);
  const now = storeNow(state);
  return [...state.leases.values()]
    .filter((row) => {
      const l = row.owner.liveness;
      return isLeaseLive(row, now) && l?.kind === 'local_process' && l.hostId === req.hostId && l.bootId === req.bootId;
    })
    .sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0))
    .slice(0, req.limit)
    .map(toLease);
}
