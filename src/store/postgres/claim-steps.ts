/**
 * The selection-and-stamp part of every claim statement (spec 02 "Queued work"), shared by the
 * claims (claims.ts) and the fused calls that take a claim inside a larger statement (the drain's
 * first claim, lease-first.ts; the claim after a commit, commit-claim.ts).
 *
 * CTEs it defines: cand, head, stop, grp, picked (`select`), then taken (`stamp`, which may
 * follow CTEs its `stampWhen` reads). `taken` returns the stamped rows of
 * queued_batches with their position `rn`. Names are chosen not to collide with the commit
 * statement's CTEs (commits.ts), so both fit in one statement.
 */
import { newClaimId, newSecretToken } from '../../ids.js';
import type { ClaimBoundary, LeaseOwner } from '../contract.js';
import { textArray } from './arrays.js';
import type { Fragment, PgContext, Tx } from './context.js';

export type Selection =
  | { kind: 'ready'; boundary: ClaimBoundary; maxBatches: number }
  | { kind: 'exact'; boundary: ClaimBoundary; batchIds: string[] }
  | { kind: 'command' }
  | { kind: 'next'; maxBatches: number };

export interface ClaimStepsInput {
  sessionId: string;
  owner: LeaseOwner;
  ttlMs: number;
  selection: Selection;
  /** At most this many candidates are looked at. */
  limit: number;
  /** Batches at this many attempts are no candidates (the caller dead-letters them, or leaves them to a claim that does). */
  maxAttempts?: number | undefined;
  /** Candidates exist only when this holds (the fence, or the commit that precedes the claim). */
  candidatesWhen: Fragment;
  /** Rows are stamped only when this holds (true for a plain claim; the lease taken, for the drain's first claim). */
  stampWhen: Fragment;
  /** Batches left out although the snapshot still shows them (the ones the same statement completes). */
  excluded?: Fragment;
}

/**
 * Candidates: the session's queued batches, available and not held, by enqueueSeq, at most
 * `limit`. The group: the head alone, or the head and the directly following compatible `join`
 * batches (same delivery policy and group key) up to the first that is not; then the per-kind gate
 * on the head. A following `never` key has merge_key null: `is not distinct from` makes it a stop
 * (with `=` the comparison was null, so it was joined; found by test/model). Stamping sets the
 * claim columns and claim_count + 1 on rows still unheld; a caller compares `taken` with `picked`
 * to see whether a concurrent writer changed a selected row since the snapshot.
 */
export function claimSteps(db: Tx, ctx: PgContext, input: ClaimStepsInput): { select: Fragment; stamp: Fragment } {
  const now = ctx.clock.now();
  const { selection, limit } = input;
  const gate =
    selection.kind === 'command'
      ? db`h.is_command and c.rn = 1`
      : selection.kind === 'next'
        ? db`(not h.is_command or c.rn = 1)`
        : db`not h.is_command and (${selection.boundary}::text = 'idle' or h.delivery_policy = 'earliest_safe_boundary')`;
  const exact =
    selection.kind === 'exact'
      ? db`(select array_agg(batch_id order by rn) from grp) = ${textArray(db, selection.batchIds)}`
      : db`true`;
  const fresh = input.maxAttempts === undefined ? db`` : db`and attempts < ${input.maxAttempts}`;
  const excluded = input.excluded ? db`and ${input.excluded}` : db``;
  // claimNext runs between turns, when its holder holds no claim of its own: a live claim of the
  // same owner and incarnation is one it could not abandon (its connection was lost), and
  // skipping it would run later input first. It is taken again like an expired one.
  const own = (alias: Fragment) =>
    selection.kind === 'next'
      ? db`or (${alias}claim_owner->>'ownerId' = ${input.owner.ownerId} and ${alias}claim_owner->>'incarnationId' = ${input.owner.incarnationId})`
      : db``;
  const select = db`cand as (
      select batch_id, delivery_policy, slot_policy, merge_key, is_command, row_number() over (order by enqueue_seq) as rn
      from queued_batches
      where session_id = ${input.sessionId} and available_at_ms <= ${now}
        and (claim_token is null or claim_expires_at_ms <= ${now} ${own(db``)}) ${fresh} ${excluded}
        and ${input.candidatesWhen}
      order by enqueue_seq
      limit ${limit}
    ), head as (
      select * from cand where rn = 1
    ), stop as (
      select coalesce(min(c.rn), ${limit}::bigint + 1) as rn
      from cand c cross join head h
      where c.rn > 1 and not (h.slot_policy = 'join' and h.merge_key is not null and not c.is_command
        and c.slot_policy = 'join' and c.delivery_policy = h.delivery_policy and c.merge_key is not distinct from h.merge_key)
    ), grp as (
      select c.batch_id, c.rn from cand c, head h, stop s where c.rn < s.rn and ${gate}
    ), picked as (
      select * from grp where ${exact}
    )`;
  const stamp = db`taken as (
      update queued_batches q set claim_id = ${newClaimId()}, claim_token = ${newSecretToken()},
        claim_owner = ${JSON.stringify(input.owner)}::text::jsonb, claimed_at_ms = ${now},
        claim_expires_at_ms = ${now} + ${input.ttlMs}::bigint, claim_count = q.claim_count + 1
      from picked p
      where q.batch_id = p.batch_id and q.session_id = ${input.sessionId} and q.available_at_ms <= ${now}
        and (q.claim_token is null or q.claim_expires_at_ms <= ${now} ${own(db`q.`)}) and ${input.stampWhen}
      returning q.*, p.rn
    )`;
  return { select, stamp };
}

/** SQL condition: the session has unheld batches at `maxAttempts` (a claim with maxAttempts dead-letters them first). */
export function spentBatchesExist(db: Tx, ctx: PgContext, sessionId: string, maxAttempts: number | undefined): Fragment {
  if (maxAttempts === undefined) return db`false`;
  const now = ctx.clock.now();
  return db`exists (select 1 from queued_batches where session_id = ${sessionId} and attempts >= ${maxAttempts}
    and not (claim_token is not null and claim_expires_at_ms > ${now}))`;
}
