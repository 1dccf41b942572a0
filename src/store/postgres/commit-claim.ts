/**
 * A turn commit and the next claim in one autocommit statement (sessions.commitAndClaimNext):
 * the commit's check-and-write statement (commits.ts) followed by claimNext's selection and stamp
 * (claim-steps.ts) and its release-when-empty, so a drain of n turns costs about n + 1 statements.
 *
 * The claim part runs only when the commit wrote (`head_w`), under the lease row the commit locked
 * (`fence`). Its candidates come from the statement's snapshot, which still shows the batches the
 * commit completes: those are left out by id. It never refuses the statement (that would undo the
 * commit): batches to dead-letter, a selected row changed by a concurrent writer, or an enqueue
 * that landed after the snapshot when nothing was picked all end with `next: null`, and the caller
 * claims with claimNext, which handles each. A partly stamped group is given back first.
 */
import type { CommitAndClaimNextResult, ClaimNextResult, CommitNextClaim, LeaseFence, RuntimeCommit } from '../contract.js';
import { parseCommitNextClaim, validateCommit } from '../validate.js';
import type { BatchRow } from './batch-rows.js';
import { claimSteps, spentBatchesExist } from './claim-steps.js';
import { claimAbandon, claimFromRows } from './claims.js';
import {
  claimsGone,
  commitCheckBinding,
  commitStatement,
  commitVerdict,
  sessionCommit,
  stampLandedMeanwhile,
  type CommitCheckRow,
  type CommitThen,
} from './commits.js';
import type { PgContext, Tx } from './context.js';
import { isRefusal, runStatement } from './errors.js';
import { leaseReleaseStatement } from './leases.js';

type Row = CommitCheckRow & BatchRow & { spent: boolean; released: boolean; stale: boolean; partial: boolean };

type NextClaim = CommitNextClaim & { fence: LeaseFence; releaseLeaseWhenEmpty: boolean };

function claimAfterCommit(db: Tx, ctx: PgContext, sessionId: string, next: NextClaim): CommitThen {
  const spent = spentBatchesExist(db, ctx, sessionId, next.maxAttempts);
  const steps = claimSteps(db, ctx, {
    sessionId,
    owner: next.owner,
    ttlMs: next.ttlMs,
    selection: { kind: 'next', maxBatches: next.maxBatches },
    limit: next.maxBatches,
    maxAttempts: next.maxAttempts,
    candidatesWhen: db`exists (select 1 from head_w) and not (select yes from spent)`,
    stampWhen: db`true`,
    excluded: db`batch_id not in (select batch_id from want)`,
  });
  // As in claimNext (claims.ts): no release when an enqueue committed after the snapshot.
  const release = next.releaseLeaseWhenEmpty
    ? db`let_go as (
        ${leaseReleaseStatement(db, ctx, next.fence)} and exists (select 1 from head_w) and not exists (select 1 from picked)
          and not (select yes from spent) and enqueue_mark = (select enqueue_mark from seen)
        returning 1
      ),`
    : db``;
  const released = next.releaseLeaseWhenEmpty ? db`exists (select 1 from let_go)` : db`false`;
  return {
    steps: db`seen as (
        select enqueue_mark from session_leases where session_id = ${sessionId}
      ), spent as (
        select ${spent} as yes
      ), ${steps.select}, ${steps.stamp}, ${release} claim_checked as (
        select (select yes from spent) as spent, ${released} as released,
          (select enqueue_mark from fence) is distinct from (select enqueue_mark from seen) as stale,
          (select count(*) from taken) <> (select count(*) from picked) as partial
      )`,
    columns: db`, k.spent, k.released, k.stale, k.partial, t.*`,
    from: db`, claim_checked k left join taken t on true order by t.rn`,
  };
}

/** commitAndClaimNext: see RuntimeStore.sessions.commitAndClaimNext. */
export async function sessionCommitAndClaimNext(ctx: PgContext, input: RuntimeCommit, nextInput: CommitNextClaim): Promise<CommitAndClaimNextResult> {
  const { commit, outbox } = validateCommit(input, ctx.limits);
  const next = parseCommitNextClaim(commit, nextInput, ctx.limits) as NextClaim;
  // An outbox makes the commit a transaction of several statements: the claim is the caller's.
  if (outbox.length > 0) return { result: await sessionCommit(ctx, input), next: null };
  commitCheckBinding(commit, outbox);
  const sessionId = commit.sessionId;
  const db = ctx.sql as unknown as Tx;
  let rows: Row[];
  try {
    rows = await runStatement(
      () => commitStatement(db, ctx, commit, commit.turnStamp !== undefined, claimAfterCommit(db, ctx, sessionId, next)) as unknown as Promise<Row[]>,
      true,
    );
  } catch (err) {
    if (isRefusal(err, 'commit_race')) throw claimsGone(sessionId);
    throw err;
  }
  const check = rows[0]!;
  let replay;
  try {
    replay = commitVerdict(ctx, commit, outbox, check);
  } catch (err) {
    replay = await stampLandedMeanwhile(ctx, commit, outbox, check, err);
  }
  if (replay) return { result: replay, next: null };
  const result = { headRevision: check.new_head!, checkpointRef: check.new_ref!, enqueuedBatches: [] };
  return { result, next: await nextFromRows(ctx, sessionId, next, rows) };
}

async function nextFromRows(ctx: PgContext, sessionId: string, next: NextClaim, rows: Row[]): Promise<ClaimNextResult | null> {
  const check = rows[0]!;
  if (check.spent) return null;
  const claim = claimFromRows(sessionId, next.owner, rows);
  if (check.partial) {
    // Given back at once; if that fails it expires, and the caller's claimNext retakes its own claim.
    if (claim) await claimAbandon(ctx, claim).catch(() => {});
    return null;
  }
  if (claim) return { claim, leaseReleased: false };
  if (check.released) return { claim: null, leaseReleased: true };
  return next.releaseLeaseWhenEmpty ? null : { claim: null, leaseReleased: false };
}
