/**
 * Session execution leases in Postgres (spec 02 "Session execution leases"): one row per session
 * in session_leases, never deleted. Every expiry decision compares against the store clock in SQL.
 */
import { SessionLeaseExpiredError, StoreUnavailableError } from '../../errors.js';
import { newSecretToken } from '../../ids.js';
import { isProcessDead } from '../liveness.js';
import { INTERRUPTED_TURN } from '../reasons.js';
import type { LeaseClaimOutcome, LeaseFence, LeaseOwner, SessionLease } from '../contract.js';
import { assertHostQuery, assertSessionId, assertTtl, parseFence, parseOwner } from '../validate.js';
import { ownerFromColumns } from './batch-rows.js';
import type { Db, Fragment, PgContext } from './context.js';
import { runStatement, runTransaction } from './errors.js';

export interface LeaseRow {
  session_id: string;
  owner_id: string;
  incarnation_id: string;
  liveness: LeaseOwner['liveness'] | null;
  lease_token: string | null;
  fencing_token: number;
  claimed_at_ms: number;
  expires_at_ms: number;
}

/** A busy answer can race a release; after this many rounds the caller sees StoreUnavailableError. */
const MAX_CLAIM_ROUNDS = 10;

export function leaseFromRow(row: LeaseRow): SessionLease {
  return {
    sessionId: row.session_id,
    owner: ownerFromColumns(row.owner_id, row.incarnation_id, row.liveness),
    leaseToken: row.lease_token ?? '',
    fencingToken: row.fencing_token,
    claimedAtMs: row.claimed_at_ms,
    expiresAtMs: row.expires_at_ms,
  };
}

function livenessParam(owner: LeaseOwner): string | null {
  return owner.liveness === undefined ? null : JSON.stringify(owner.liveness);
}

/** SQL condition: the lease row (alias-free columns) matches the fence exactly and is live. */
export function fenceMatches(ctx: PgContext, fence: LeaseFence): Fragment {
  return ctx.sql`owner_id = ${fence.owner.ownerId} and incarnation_id = ${fence.owner.incarnationId}
    and lease_token = ${fence.leaseToken} and fencing_token = ${fence.fencingToken}::bigint
    and expires_at_ms > ${ctx.clock.now()}`;
}

/**
 * Locks the session's lease row for the rest of the transaction (FOR UPDATE). This serializes
 * every claim and commit of one session. Rows touched: none. Returns nothing; callers re-check
 * the fence in their next statement, which starts after the lock is held.
 */
export function leaseLockRow(db: Db, sessionId: string): Fragment {
  return db`select 1 from session_leases where session_id = ${sessionId} for update`;
}

/**
 * Statement part for an enqueue: bumps the session's enqueue_mark (inserting a never-held row,
 * fencing_token 0, when the session has none), so the enqueue and the holder's last
 * claim-and-release serialize on the lease row (schema comment on enqueue_mark). Only when `gate`
 * (the enqueue's admission) holds: a refused enqueue writes nothing. Rows touched: the lease row,
 * locked until the enqueue commits. Returns one row (`enqueue_mark`), none when refused.
 */
export function leaseEnqueueMark(db: Db, ctx: PgContext, sessionId: string, gate: Fragment): Fragment {
  const now = ctx.clock.now();
  return db`insert into session_leases as l (session_id, owner_id, incarnation_id, lease_token, fencing_token, claimed_at_ms,
      expires_at_ms, enqueue_mark)
    select ${sessionId}, '', '', null, 0, ${now}, ${now}, 1 where ${gate}
    on conflict (session_id) do update set enqueue_mark = l.enqueue_mark + 1
    returning l.enqueue_mark`;
}

/**
 * Acquire-or-re-enter as one upsert: inserts a new row (fencing 1), takes over a released or
 * expired row (fencing + 1, new token), or re-enters a live lease of the same owner and
 * incarnation (same token and fencing, new expiry). Rows touched: the session's lease row.
 * Returns null when a live lease of someone else blocks it.
 */
async function leaseUpsert(db: Db, ctx: PgContext, sessionId: string, owner: LeaseOwner, ttlMs: number): Promise<LeaseRow | null> {
  const rows = await db<LeaseRow[]>`
    with prev as (
      select owner_id, incarnation_id, lease_token, fencing_token from session_leases where session_id = ${sessionId}
    ), up as (
      ${leaseUpsertStatement(db, ctx, sessionId, owner, ttlMs, db`true`)}
    ), dropped as (
      ${claimsOfPreviousHolderDrop(db, sessionId)}
    )
    select * from up`;
  return rows[0] ?? null;
}

/**
 * The acquire-or-re-enter upsert (see leaseUpsert), sent only when `when` holds. Returns the lease
 * row taken (`returning *`), none when a live lease of someone else blocks it. Also a part of the
 * drain's first statement (lease-first.ts).
 */
export function leaseUpsertStatement(db: Db, ctx: PgContext, sessionId: string, owner: LeaseOwner, ttlMs: number, when: Fragment): Fragment {
  const now = ctx.clock.now();
  const reenter = db`(l.lease_token is not null and l.expires_at_ms > ${now}
    and l.owner_id = excluded.owner_id and l.incarnation_id = excluded.incarnation_id)`;
  return db`insert into session_leases as l
      (session_id, owner_id, incarnation_id, liveness, lease_token, fencing_token, claimed_at_ms, expires_at_ms)
    select ${sessionId}, ${owner.ownerId}, ${owner.incarnationId}, ${livenessParam(owner)}::text::jsonb, ${newSecretToken()}, 1,
      ${now}, ${now} + ${ttlMs}::bigint
    where ${when}
    on conflict (session_id) do update set
      owner_id = excluded.owner_id,
      incarnation_id = excluded.incarnation_id,
      liveness = case when ${reenter} then l.liveness else excluded.liveness end,
      lease_token = case when ${reenter} then l.lease_token else excluded.lease_token end,
      fencing_token = case when ${reenter} then l.fencing_token else l.fencing_token + 1 end,
      claimed_at_ms = case when ${reenter} then l.claimed_at_ms else excluded.claimed_at_ms end,
      expires_at_ms = excluded.expires_at_ms
    where l.lease_token is null or l.expires_at_ms <= ${now}
      or (l.owner_id = excluded.owner_id and l.incarnation_id = excluded.incarnation_id)
    returning *`;
}

/**
 * Drops the claims of a holder that is being taken over without having released (its lease
 * expired, it was provably dead, or it handed the session over): its fence is stale, so those
 * claims can never be completed, and while held they would hide the queue head from the new
 * holder, who would then run later input first. Each dropped claim's batch is marked interrupted
 * (last_error INTERRUPTED_TURN: a suspect); only a claim its holder marked alone
 * (markClaimAlone, claim-alone.ts) counts an attempt, since only then was the holder's death
 * provably its turn's doing (a turn that kills its worker must still end as a dead letter).
 * Used inside a statement whose CTEs `prev` (the lease row before) and `up` (after) exist. Claim
 * counters stay, so re-claims fence higher.
 */
export function claimsOfPreviousHolderDrop(db: Db, sessionId: string): Fragment {
  return db`update queued_batches b set claim_id = null, claim_token = null, claim_owner = null, claimed_at_ms = null,
      claim_expires_at_ms = null, attempts = b.attempts + (case when b.alone_claim_id = b.claim_id then 1 else 0 end),
      alone_claim_id = null, last_error = ${INTERRUPTED_TURN}
    from prev, up
    where b.session_id = ${sessionId} and prev.lease_token is not null and up.fencing_token > prev.fencing_token
      and b.claim_token is not null and b.claim_owner->>'ownerId' = prev.owner_id
      and b.claim_owner->>'incarnationId' = prev.incarnation_id
    returning b.batch_id`;
}

/**
 * Reads the lease row with a live flag. Rows touched: none. Null when the session was never leased.
 */
export async function leaseRead(db: Db, ctx: PgContext, sessionId: string, lock = false): Promise<(LeaseRow & { live: boolean }) | null> {
  const rows = lock
    ? await db<(LeaseRow & { live: boolean })[]>`
        select *, (lease_token is not null and expires_at_ms > ${ctx.clock.now()}) as live
        from session_leases where session_id = ${sessionId} for update`
    : await db<(LeaseRow & { live: boolean })[]>`
        select *, (lease_token is not null and expires_at_ms > ${ctx.clock.now()}) as live
        from session_leases where session_id = ${sessionId}`;
  return rows[0] ?? null;
}

/**
 * tryClaim: acquire, re-enter, or report the live holder. Rows touched: the lease row.
 * Concurrent first claims from separate pools: the primary key makes one insert win; the other
 * sees the winner's live row through ON CONFLICT and answers busy.
 */
export async function leaseTryClaim(ctx: PgContext, sessionId: string, owner: LeaseOwner, ttlMs: number): Promise<LeaseClaimOutcome> {
  assertSessionId(sessionId);
  const parsedOwner = parseOwner(owner);
  assertTtl(ttlMs, ctx.limits);
  return runStatement(() => leaseClaimRounds(ctx.sql, ctx, sessionId, parsedOwner, ttlMs));
}

async function leaseClaimRounds(db: Db, ctx: PgContext, sessionId: string, owner: LeaseOwner, ttlMs: number): Promise<LeaseClaimOutcome> {
  for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
    const acquired = await leaseUpsert(db, ctx, sessionId, owner, ttlMs);
    if (acquired) return { kind: 'acquired', lease: leaseFromRow(acquired) };
    // The upsert's WHERE saw a live foreign holder; read it in a fresh snapshot.
    const holder = await leaseRead(db, ctx, sessionId);
    if (holder?.live) return { kind: 'busy', holder: leaseFromRow(holder) };
  }
  throw new StoreUnavailableError(`the lease of ${sessionId} changed hands ${MAX_CLAIM_ROUNDS} times during one claim`, { sessionId });
}

/**
 * reclaim: acquire when the lease is not live; take over a live lease (fencing + 1) only when the
 * holder is exactly `observedHolder` and provably dead as seen by `owner` (same host and boot,
 * pid gone or reused). Rows touched: the lease row, locked while deciding.
 */
export async function leaseReclaim(
  ctx: PgContext,
  sessionId: string,
  owner: LeaseOwner,
  observedHolder: LeaseFence,
  ttlMs: number,
): Promise<LeaseClaimOutcome> {
  assertSessionId(sessionId);
  const parsedOwner = parseOwner(owner);
  const observed = parseFence(observedHolder, 'observedHolder');
  assertTtl(ttlMs, ctx.limits);
  return runTransaction(ctx.sql, async (tx) => {
    const row = await leaseRead(tx, ctx, sessionId, true);
    if (!row || !row.live) return leaseClaimRounds(tx, ctx, sessionId, parsedOwner, ttlMs);
    const exact =
      observed.sessionId === sessionId &&
      row.owner_id === observed.owner.ownerId &&
      row.incarnation_id === observed.owner.incarnationId &&
      row.lease_token === observed.leaseToken &&
      row.fencing_token === observed.fencingToken;
    if (!exact || !isProcessDead(row.liveness ?? undefined, parsedOwner.liveness)) {
      return { kind: 'busy', holder: leaseFromRow(row) };
    }
    const now = ctx.clock.now();
    const [taken] = await tx<LeaseRow[]>`
      with prev as (
        select owner_id, incarnation_id, lease_token, fencing_token from session_leases where session_id = ${sessionId}
      ), up as (
        update session_leases set owner_id = ${parsedOwner.ownerId}, incarnation_id = ${parsedOwner.incarnationId},
          liveness = ${livenessParam(parsedOwner)}::text::jsonb, lease_token = ${newSecretToken()},
          fencing_token = fencing_token + 1, claimed_at_ms = ${now}, expires_at_ms = ${now} + ${ttlMs}::bigint
        where session_id = ${sessionId}
        returning *
      ), dropped as (
        ${claimsOfPreviousHolderDrop(tx, sessionId)}
      )
      select * from up`;
    return { kind: 'acquired', lease: leaseFromRow(taken!) };
  });
}

/**
 * renew: sets `expiresAt = now + ttl` on a live lease matching the fence exactly. Rows touched:
 * the lease row. Nothing matched: SessionLeaseExpiredError (renewal never resurrects).
 */
export async function leaseRenew(ctx: PgContext, fence: LeaseFence, ttlMs: number): Promise<SessionLease> {
  const parsed = parseFence(fence);
  assertSessionId(parsed.sessionId, 'fence.sessionId');
  assertTtl(ttlMs, ctx.limits);
  const rows = await runStatement(
    () => ctx.sql<LeaseRow[]>`
      update session_leases set expires_at_ms = ${ctx.clock.now()} + ${ttlMs}::bigint
      where session_id = ${parsed.sessionId} and ${fenceMatches(ctx, parsed)}
      returning *`,
  );
  if (!rows[0]) throw new SessionLeaseExpiredError(`the lease of ${parsed.sessionId} is not live under this fence`, { sessionId: parsed.sessionId });
  return leaseFromRow(rows[0]);
}

/**
 * release: clears the holder (token null, `expiresAt = now`) when owner, incarnation, token and
 * fencing all match, live or expired. Rows touched: the lease row. Nothing matched: no effect.
 */
export async function leaseRelease(ctx: PgContext, completion: LeaseFence): Promise<void> {
  const parsed = parseFence(completion, 'completion');
  assertSessionId(parsed.sessionId, 'completion.sessionId');
  await runStatement(() => leaseReleaseStatement(ctx.sql, ctx, parsed));
}

/** The guarded release statement, also run at the end of a commit. */
export function leaseReleaseStatement(db: Db, ctx: PgContext, completion: LeaseFence): Fragment {
  return db`
    update session_leases set lease_token = null, expires_at_ms = ${ctx.clock.now()}
    where session_id = ${completion.sessionId} and owner_id = ${completion.owner.ownerId}
      and incarnation_id = ${completion.owner.incarnationId} and lease_token = ${completion.leaseToken}
      and fencing_token = ${completion.fencingToken}::bigint`;
}

/** get: the lease row as a SessionLease (released: token ''); null when never leased. */
export async function leaseGet(ctx: PgContext, sessionId: string): Promise<SessionLease | null> {
  assertSessionId(sessionId);
  const row = await runStatement(() => leaseRead(ctx.sql, ctx, sessionId));
  // A row an enqueue inserted (fencing 0) was never held: the session was never leased.
  return row && row.fencing_token > 0 ? leaseFromRow(row) : null;
}

/**
 * transfer: hands a live lease to `nextOwner` with a new token and fencing + 1. Rows touched: the
 * lease row. Fence not live: SessionLeaseExpiredError.
 */
export async function leaseTransfer(ctx: PgContext, fence: LeaseFence, nextOwner: LeaseOwner, ttlMs: number): Promise<SessionLease> {
  const parsed = parseFence(fence);
  assertSessionId(parsed.sessionId, 'fence.sessionId');
  const next = parseOwner(nextOwner, 'nextOwner');
  assertTtl(ttlMs, ctx.limits);
  const now = ctx.clock.now();
  const rows = await runStatement(
    () => ctx.sql<LeaseRow[]>`
      with prev as (
        select owner_id, incarnation_id, lease_token, fencing_token from session_leases where session_id = ${parsed.sessionId}
      ), up as (
        update session_leases set owner_id = ${next.ownerId}, incarnation_id = ${next.incarnationId},
          liveness = ${livenessParam(next)}::text::jsonb, lease_token = ${newSecretToken()},
          fencing_token = fencing_token + 1, claimed_at_ms = ${now}, expires_at_ms = ${now} + ${ttlMs}::bigint
        where session_id = ${parsed.sessionId} and ${fenceMatches(ctx, parsed)}
        returning *
      ), dropped as (
        ${claimsOfPreviousHolderDrop(ctx.sql, parsed.sessionId)}
      )
      select * from up`,
  );
  if (!rows[0]) throw new SessionLeaseExpiredError(`the lease of ${parsed.sessionId} is not live under this fence`, { sessionId: parsed.sessionId });
  return leaseFromRow(rows[0]);
}

/**
 * listLiveOnHost: live leases held by `local_process` owners on this host and boot, by session id.
 * Rows touched: none (partial index session_leases_held_host_idx).
 */
export async function leaseListLiveOnHost(ctx: PgContext, req: { hostId: string; bootId: string; limit: number }): Promise<SessionLease[]> {
  assertHostQuery(req);
  const rows = await runStatement(
    () => ctx.sql<LeaseRow[]>`
      select * from session_leases
      where lease_token is not null and (liveness->>'hostId') = ${req.hostId} and liveness->>'kind' = 'local_process'
        and liveness->>'bootId' = ${req.bootId} and expires_at_ms > ${ctx.clock.now()}
      order by session_id limit ${req.limit}`,
  );
  return rows.map(leaseFromRow);
}
