/**
 * Claims on queued work in Postgres (spec 02 "Queued work"): claimReady, claimByBatchIds,
 * claimLeadingSessionCommand, renewClaim, abandonClaim.
 *
 * A claim is one autocommit statement, one round trip. It locks the lease row (FOR UPDATE, so the
 * fence is checked against the newest committed lease: a takeover that commits while the claim
 * waits makes the fence fail), selects the group with a window over the session's candidates
 * (index (session_id, enqueue_seq)) and stamps it; if any selected row could not be stamped (a
 * concurrent cancel or claim changed it since the statement's snapshot) the statement undoes
 * itself with turnlane_refuse and the claim is null.
 */
import { InvalidInputError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError, StoreUnavailableError, describeValue } from '../../errors.js';
import type {
  ClaimBoundary,
  ClaimByBatchIdsRequest,
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
import { textArray } from './arrays.js';
import { claimSteps, type Selection } from './claim-steps.js';
import { claimedBatchFromRow, type BatchRow } from './batch-rows.js';
import type { Fragment, PgContext, Tx } from './context.js';
import { isRefusal, refuse, runStatement, runTransaction } from './errors.js';
import { fenceMatches, leaseReleaseStatement } from './leases.js';
import { assertReason, batchesDeadLetter, exhaustedDeadLetterSteps } from './queue.js';

interface ClaimInput {
  sessionId: string;
  fence: LeaseFence;
  owner: LeaseOwner;
  ttlMs: number;
  selection: Selection;
  /** claimNext: release the lease under the fence when nothing is picked. */
  releaseWhenEmpty?: boolean;
}

type StampedRow = BatchRow & { fence_ok: boolean; released: boolean; stale: boolean; rn: number | null };

function assertRequest(req: unknown): asserts req is Record<string, unknown> {
  if (typeof req !== 'object' || req === null) throw InvalidInputError.field('req', 'an object', describeValue(req));
}

/** Fence shape, and the fence must name the requested session (else SessionLeaseExpiredError). */
function claimFence(fence: unknown, sessionId: string): LeaseFence {
  const parsed = parseFence(fence);
  if (parsed.sessionId !== sessionId) {
    throw new SessionLeaseExpiredError(`the lease fence names session ${parsed.sessionId}, not ${sessionId}`, { sessionId });
  }
  return parsed;
}

/**
 * The claim statement. The fence: the lease row, locked, matching the fence. With `maxAttempts`,
 * the session's unheld batches at that many attempts are dead-lettered first and are no
 * candidates. Selection and stamping: claim-steps.ts. Rows touched: the lease row (locked), the
 * stamped queued_batches rows (claim columns, claim_count + 1), dead letters. Always returns at
 * least one row carrying `fence_ok`; stamped batches have a non-null `batch_id`, ordered by
 * position. Refuses itself ('claim_race') if fewer rows were stamped than selected.
 */
function claimStatement(db: Tx, ctx: PgContext, input: ClaimInput, limit: number, maxAttempts?: number): Fragment {
  const exhausted = maxAttempts === undefined ? db`` : db`${exhaustedDeadLetterSteps(db, ctx, input.sessionId, maxAttempts)},`;
  const steps = claimSteps(db, ctx, {
    sessionId: input.sessionId,
    owner: input.owner,
    ttlMs: input.ttlMs,
    selection: input.selection,
    limit,
    maxAttempts,
    candidatesWhen: db`exists (select 1 from fence)`,
    stampWhen: db`true`,
  });
  // The release also requires that no enqueue committed after this statement's snapshot (the
  // locked row's enqueue_mark is the newest, `seen` the snapshot's): such a batch is invisible to
  // `cand`, and its job may already have finished because it found the session held.
  const release = input.releaseWhenEmpty
    ? db`released as (
        ${leaseReleaseStatement(db, ctx, input.fence)} and exists (select 1 from fence) and not exists (select 1 from picked)
          and enqueue_mark = (select enqueue_mark from seen)
        returning 1
      ),`
    : db``;
  const released = input.releaseWhenEmpty ? db`exists (select 1 from released)` : db`false`;
  return db`
    with fence as (
      select enqueue_mark from session_leases where session_id = ${input.sessionId} and ${fenceMatches(ctx, input.fence)} for update
    ), seen as (
      select enqueue_mark from session_leases where session_id = ${input.sessionId}
    ), ${exhausted} ${steps.select}, ${steps.stamp}, ${release} checked as (
      select exists (select 1 from fence) as fence_ok, ${released} as released,
        (select enqueue_mark from fence) is distinct from (select enqueue_mark from seen) as stale,
        case when (select count(*) from taken) <> (select count(*) from picked) then ${refuse(db, 'claim_race')} end as refused
    )
    select k.fence_ok, k.released, k.stale, k.refused, s.*
    from checked k left join taken s on true
    order by s.rn`;
}

/** A refused claim statement (a selected row changed under it) runs again, at most this often in all. */
const CLAIM_RUNS = 3;
/**
 * A claim-and-release that found nothing but saw an enqueue land after its snapshot runs again (its
 * next snapshot sees the batch). Each run needs a new enqueue to the same session between snapshot
 * and lock, so a handful always settles; past this bound something is wrong.
 */
const STALE_RUNS = 100;

/**
 * Runs the claim statement, again after a refusal (its next snapshot sees the change) and again
 * when it would have released the lease but an enqueue landed after its snapshot. Returns the
 * claim (null when nothing qualified, or still refused after CLAIM_RUNS) and whether the lease was
 * released. Fence not live: SessionLeaseExpiredError.
 */
async function claimRun(ctx: PgContext, input: ClaimInput, limit: number, maxAttempts?: number): Promise<ClaimNextResult> {
  let result: StampedRow[] | undefined;
  let refusals = 0;
  for (let run = 1; result === undefined; run++) {
    try {
      result = await runStatement(() => claimStatement(ctx.sql as unknown as Tx, ctx, input, limit, maxAttempts) as unknown as Promise<StampedRow[]>);
    } catch (err) {
      if (!isRefusal(err, 'claim_race')) throw err;
      if (++refusals >= CLAIM_RUNS) return { claim: null, leaseReleased: false };
      continue;
    }
    const row = result[0]!;
    if (input.releaseWhenEmpty && row.fence_ok && row.stale && !row.released && row.batch_id === null) {
      if (run >= STALE_RUNS) throw new StoreUnavailableError(`enqueues to ${input.sessionId} kept landing during its last claim`, { sessionId: input.sessionId });
      result = undefined;
    }
  }
  const first = result[0]!;
  if (!first.fence_ok) {
    throw new SessionLeaseExpiredError(`the lease of ${input.sessionId} is not live under this fence`, { sessionId: input.sessionId });
  }
  const claim = claimFromRows(input.sessionId, input.owner, result);
  return claim ? { claim, leaseReleased: false } : { claim: null, leaseReleased: first.released };
}

/** The claim the stamped rows (those with a batch id, in position order) make; null when there are none. */
export function claimFromRows(sessionId: string, owner: LeaseOwner, rows: BatchRow[]): QueuedWorkClaim | null {
  const stamped = rows.filter((r) => r.batch_id !== null);
  const head = stamped[0];
  if (!head) return null;
  return {
    sessionId,
    claimId: head.claim_id!,
    owner,
    claimToken: head.claim_token!,
    fencingToken: head.claim_count,
    claimedAtMs: head.claimed_at_ms!,
    expiresAtMs: head.claim_expires_at_ms!,
    batches: stamped.map((row) => claimedBatchFromRow(row)),
  };
}

/** claimReady: the ready group at the boundary; null when `maxBatches <= 0` or nothing qualifies. */
export async function batchClaimReady(ctx: PgContext, req: ClaimReadyRequest): Promise<QueuedWorkClaim | null> {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertBoundary(req.boundary);
  assertTtl(req.ttlMs, ctx.limits);
  if (!Number.isSafeInteger(req.maxBatches)) throw InvalidInputError.field('maxBatches', 'an integer', describeValue(req.maxBatches));
  const fence = claimFence(req.fence, req.sessionId);
  const maxBatches = Math.min(req.maxBatches, ctx.limits.maxBatchesPerClaim);
  // maxBatches <= 0 still validates the fence: the statement runs with an empty selection.
  const selection: Selection = { kind: 'ready', boundary: req.boundary, maxBatches };
  if (req.maxAttempts !== undefined) assertPositiveInteger(req.maxAttempts, 'maxAttempts');
  return (await claimRun(ctx, { sessionId: req.sessionId, fence, owner, ttlMs: req.ttlMs, selection }, Math.max(maxBatches, 0), req.maxAttempts)).claim;
}

/**
 * claimByBatchIds: exactly `batchIds`, in order, iff they are the group claimReady would select
 * now with `maxBatches = batchIds.length`; else null with nothing written.
 */
export async function batchClaimByIds(ctx: PgContext, req: ClaimByBatchIdsRequest): Promise<QueuedWorkClaim | null> {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertBoundary(req.boundary);
  assertTtl(req.ttlMs, ctx.limits);
  if (!Array.isArray(req.batchIds)) throw InvalidInputError.field('batchIds', 'an array of batch ids', describeValue(req.batchIds));
  req.batchIds.forEach((id, i) => assertId(id, `batchIds[${i}]`));
  const fence = claimFence(req.fence, req.sessionId);
  const limit = Math.min(req.batchIds.length, ctx.limits.maxBatchesPerClaim);
  const selection: Selection = { kind: 'exact', boundary: req.boundary, batchIds: [...req.batchIds] };
  return (await claimRun(ctx, { sessionId: req.sessionId, fence, owner, ttlMs: req.ttlMs, selection }, limit)).claim;
}

/** claimLeadingSessionCommand: the queue head alone iff it is a session-command batch; else null. */
export async function batchClaimLeadingCommand(ctx: PgContext, req: ClaimLeadingSessionCommandRequest): Promise<QueuedWorkClaim | null> {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertTtl(req.ttlMs, ctx.limits);
  const fence = claimFence(req.fence, req.sessionId);
  return (await claimRun(ctx, { sessionId: req.sessionId, fence, owner, ttlMs: req.ttlMs, selection: { kind: 'command' } }, 1)).claim;
}

/** claimNext: the head session command alone, else the ready group at the idle boundary; see ClaimNextRequest. */
export async function batchClaimNext(ctx: PgContext, req: ClaimNextRequest): Promise<ClaimNextResult> {
  assertRequest(req);
  assertSessionId(req.sessionId);
  const owner = parseOwner(req.owner);
  assertTtl(req.ttlMs, ctx.limits);
  if (!Number.isSafeInteger(req.maxBatches)) throw InvalidInputError.field('maxBatches', 'an integer', describeValue(req.maxBatches));
  if (req.maxAttempts !== undefined) assertPositiveInteger(req.maxAttempts, 'maxAttempts');
  if (req.releaseLeaseWhenEmpty !== undefined && typeof req.releaseLeaseWhenEmpty !== 'boolean') {
    throw InvalidInputError.field('releaseLeaseWhenEmpty', 'a boolean', describeValue(req.releaseLeaseWhenEmpty));
  }
  const fence = claimFence(req.fence, req.sessionId);
  const maxBatches = Math.max(Math.min(req.maxBatches, ctx.limits.maxBatchesPerClaim), 0);
  const input: ClaimInput = { sessionId: req.sessionId, fence, owner, ttlMs: req.ttlMs, selection: { kind: 'next', maxBatches }, releaseWhenEmpty: req.releaseLeaseWhenEmpty === true };
  return claimRun(ctx, input, maxBatches, req.maxAttempts);
}

/**
 * renewClaim: every batch of the claim must still be queued under its id and token, unexpired;
 * then `expiresAt = now + ttl` on all of them, in one autocommit statement (a heartbeat opens no
 * transaction, so a holder frozen between two of its statements holds no row lock). Rows touched:
 * the claim's rows, locked first and written only when all of them match. Otherwise
 * QueuedWorkClaimExpiredError and nothing changes.
 */
export async function claimRenew(ctx: PgContext, claim: QueuedWorkClaim, ttlMs: number): Promise<QueuedWorkClaim> {
  assertClaim(claim);
  assertTtl(ttlMs, ctx.limits);
  const batchIds = [...new Set(claim.batches.map((b) => b.batchId))];
  const now = ctx.clock.now();
  const rows = await runStatement(
    () => ctx.sql<BatchRow[]>`
      with mine as (
        select batch_id from queued_batches
        where session_id = ${claim.sessionId} and batch_id = any(${textArray(ctx.sql, batchIds)})
          and claim_id = ${claim.claimId} and claim_token = ${claim.claimToken} and claim_expires_at_ms > ${now}
        for update
      )
      update queued_batches q set claim_expires_at_ms = ${now} + ${ttlMs}::bigint
      where q.batch_id in (select batch_id from mine) and (select count(*) from mine) = ${batchIds.length}
      returning q.*`,
  );
  if (rows.length !== batchIds.length) {
    throw new QueuedWorkClaimExpiredError(`claim ${claim.claimId} no longer owns its batches`, { claimId: claim.claimId });
  }
  const byId = new Map(rows.map((row) => [row.batch_id, row]));
  return {
    ...claim,
    expiresAtMs: rows[0]!.claim_expires_at_ms!,
    batches: claim.batches.map((b) => claimedBatchFromRow(byId.get(b.batchId)!)),
  };
}

/**
 * abandonClaim: clears the claim from the rows still carrying its id and token (expired or not;
 * claim counters stay). With `failure`: attempts + 1 and last_error on those rows, and the rows
 * at `maxAttempts` are dead-lettered in the same transaction. Rows touched: the claim's rows,
 * dead_letters, source_keys. Returns the dead letters made; empty without a failure or a match.
 */
export async function claimAbandon(ctx: PgContext, claim: QueuedWorkClaim, failure?: ClaimFailure): Promise<DeadLetter[]> {
  assertClaim(claim);
  if (failure !== undefined) {
    if (typeof failure !== 'object' || failure === null) throw InvalidInputError.field('failure', 'an object', describeValue(failure));
    assertReason(failure.reason, 'failure.reason');
    if (!Number.isSafeInteger(failure.maxAttempts) || failure.maxAttempts < 1) {
      throw InvalidInputError.field('failure.maxAttempts', 'a positive integer', describeValue(failure.maxAttempts));
    }
  }
  const batchIds = [...new Set(claim.batches.map((b) => b.batchId))];
  const clear = (db: Tx | PgContext['sql']) => db<{ batch_id: string; attempts: number }[]>`
    update queued_batches set claim_id = null, claim_token = null, claim_owner = null, claimed_at_ms = null,
      claim_expires_at_ms = null, attempts = attempts + ${failure ? 1 : 0},
      last_error = coalesce(${failure ? failure.reason : null}::text, last_error)
    where session_id = ${claim.sessionId} and batch_id = any(${textArray(db, batchIds)})
      and claim_id = ${claim.claimId} and claim_token = ${claim.claimToken}
    returning batch_id, attempts`;
  if (!failure) {
    await runStatement(() => clear(ctx.sql));
    return [];
  }
  return runTransaction(ctx.sql, async (tx) => {
    const cleared = await clear(tx);
    const exhausted = cleared.filter((row) => row.attempts >= failure.maxAttempts).map((row) => row.batch_id);
    if (exhausted.length === 0) return [];
    return batchesDeadLetter(tx, ctx, claim.sessionId, exhausted, failure.reason);
  });
}
