/**
 * The turn commit in Postgres (spec 02 "Turn commit"): one transaction, checks in the contract's
 * order plus the task-session step after the fence (docs/store-semantics.md), all or nothing.
 *
 * Without an outbox (every turn of the runtime) the commit is one autocommit statement, one round
 * trip: the check-and-write CTE. It locks the lease row (FOR UPDATE: the fence is checked against
 * the newest committed lease), computes the stamp, fence, CAS and completion checks, gates every
 * write on all of them passing, and reports the check results so the error raised follows the
 * contract's order; if a completed batch changed under it after its checks, it undoes itself
 * (turnlane_refuse). With an outbox: BEGIN; the same statement; one enqueue per draft; the stamp;
 * COMMIT.
 */
import {
  HeadRevisionConflictError,
  QueuedWorkClaimExpiredError,
  SessionBindingMismatchError,
  SessionLeaseExpiredError,
  TurnCommitConflictError,
} from '../../errors.js';
import type { AgentFrame, Checkpoint, QueuedWorkBatch, RuntimeCommit, RuntimeCommitResult } from '../contract.js';
import { validateCommit, type NormalizedDraft } from '../validate.js';
import { textArray } from './arrays.js';
import type { Fragment, PgContext, Tx } from './context.js';
import { isRefusal, refuse, runStatement, runTransaction } from './errors.js';
import { fenceMatches, leaseLockRow, leaseReleaseStatement } from './leases.js';
import { batchEnqueue, sourceKeysRemember } from './queue.js';
import { commitPolicyRow } from './task-sessions.js';
import { draftRefusal, refusalError, type PolicySnapshot } from '../policy-refusals.js';

export interface CommitCheckRow {
  stamp_hash: string | null;
  stamp_head: number | null;
  stamp_ref: string | null;
  stamp_batches: QueuedWorkBatch[] | null;
  fence_ok: boolean;
  policy: PolicySnapshot | null;
  head: number;
  owned_count: number;
  ok: boolean;
  new_head: number | null;
  new_ref: string | null;
  refused: boolean | null;
}

/** Step 1: everything the commit names must be its own session. */
export function commitCheckBinding(commit: RuntimeCommit, outbox: NormalizedDraft[]): void {
  const sessionId = commit.sessionId;
  const mismatch = (what: string, other: string) =>
    new SessionBindingMismatchError(`${what} names session ${other}, but the commit is for ${sessionId}`, { sessionId, other });
  if (commit.leaseFence && commit.leaseFence.sessionId !== sessionId) throw mismatch('leaseFence', commit.leaseFence.sessionId);
  if (commit.releaseLease && commit.releaseLease.sessionId !== sessionId) throw mismatch('releaseLease', commit.releaseLease.sessionId);
  outbox.forEach((draft, i) => {
    if (draft.sessionId !== sessionId) throw mismatch(`enqueueBatches[${i}]`, draft.sessionId);
  });
  (commit.completedQueueClaims ?? []).forEach((completion, i) => {
    if (completion.sessionId !== sessionId) throw mismatch(`completedQueueClaims[${i}]`, completion.sessionId);
  });
  if (commit.turnStamp && commit.turnStamp.sessionId !== sessionId) {
    throw new TurnCommitConflictError(`the turn stamp names session ${commit.turnStamp.sessionId}, but the commit is for ${sessionId}`, { sessionId });
  }
}

/**
 * Step 3a (docs/store-semantics.md): a closed task session refuses the commit (SessionClosedError),
 * an expired one SessionExpiredError; then every outbox draft passes the enqueue rule. The
 * statement gated its writes on the status, and a throw here rolls the transaction back.
 */
function commitCheckPolicy(ctx: PgContext, sessionId: string, policy: PolicySnapshot | null, outbox: NormalizedDraft[]): void {
  if (policy?.status === 'closed') throw refusalError(sessionId, { kind: 'closed' });
  if (policy?.status === 'expired') throw refusalError(sessionId, { kind: 'expired', expiresAtMs: policy.expiresAtMs });
  for (const draft of outbox) {
    const refusal = draftRefusal(policy, draft, ctx.implicitSessions);
    if (refusal) throw refusalError(sessionId, refusal);
  }
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The checkpoint as JSON without its bytes (kept as a key only when explicitly null), and the bytes. */
function checkpointParts(checkpoint: Checkpoint): { json: string; bytes: Buffer | null } {
  const { executionState, ...rest } = checkpoint;
  const json = executionState === null ? { ...rest, executionState: null } : rest;
  const bytes = executionState instanceof Uint8Array ? Buffer.from(executionState) : null;
  return { json: JSON.stringify(json), bytes };
}

/** Agent frames as `{ frame, snapshot }` with the snapshot bytes in base64 (decoded in SQL). */
function framesJson(frames: AgentFrame[]): string {
  return JSON.stringify(
    frames.map((frame) => {
      const { executionStateSnapshot, ...rest } = frame;
      if (executionStateSnapshot instanceof Uint8Array) return { frame: rest, snapshot: base64(executionStateSnapshot) };
      return { frame: executionStateSnapshot === null ? { ...rest, executionStateSnapshot: null } : rest, snapshot: null };
    }),
  );
}

/** The graph write: append inserts (a duplicate id fails the statement); replace drops the other nodes and upserts. */
function nodesWrite(tx: Tx, sessionId: string, commit: RuntimeCommit): Fragment {
  const graph = commit.state.graph;
  const nodes = JSON.stringify(graph.kind === 'unchanged' ? [] : graph.nodes);
  const insert = tx`
    insert into session_nodes (session_id, node_id, parent_node_id, revision, position, node)
    select ${sessionId}::text, e.n->>'nodeId', e.n->>'parentNodeId', h.head_revision, e.ord, e.n
    from head_w h, jsonb_array_elements(${nodes}::text::jsonb) with ordinality e(n, ord)`;
  if (graph.kind !== 'replace') return tx`nodes as (${insert})`;
  return tx`cleared as (
      delete from session_nodes where session_id = ${sessionId} and exists (select 1 from head_w)
        and node_id not in (select e.n->>'nodeId' from jsonb_array_elements(${nodes}::text::jsonb) e(n))
    ), nodes as (${insert}
      on conflict (session_id, node_id) do update set parent_node_id = excluded.parent_node_id,
        revision = excluded.revision, position = excluded.position, node = excluded.node, tombstoned = false)`;
}

/**
 * The check-and-write statement. Reads the stamp, fence, head and completion ownership; when all
 * pass, writes the head (sessions upsert guarded by head = previous), the checkpoint, the agent
 * frames, the graph delta, usage, deletes the completed batches (remembering their source keys),
 * stamps attachments, records the stamp (without an outbox) and releases the lease. Rows
 * touched: those of this session only. Returns one CommitCheckRow.
 */
export function commitStatement(tx: Tx, ctx: PgContext, commit: RuntimeCommit, writeStamp: boolean, then?: CommitThen): Fragment {
  const s = commit.sessionId;
  const now = ctx.clock.now();
  const want = new Map<string, { batchId: string; claimId: string; claimToken: string }>();
  for (const c of commit.completedQueueClaims ?? []) {
    for (const batchId of c.batchIds) want.set(JSON.stringify([batchId, c.claimId, c.claimToken]), { batchId, claimId: c.claimId, claimToken: c.claimToken });
  }
  const fence = commit.leaseFence ? fenceMatches(ctx, commit.leaseFence) : tx`false`;
  const ckpt = checkpointParts(commit.state.checkpoint);
  const usage = JSON.stringify(commit.usageDeltas ?? []);
  const release = commit.releaseLease
    ? tx`released as (${leaseReleaseStatement(tx, ctx, commit.releaseLease)} and exists (select 1 from head_w)),`
    : tx``;
  const stamp = commit.turnStamp;
  return tx`
    with stamp as (
      select hash, head_revision, checkpoint_ref, enqueued_batches from turn_stamps
      where session_id = ${s} and turn_id = ${stamp?.turnId ?? null}::text
    ), fence as (
      select enqueue_mark from session_leases where session_id = ${s} and ${fence} for update
    ), policy as (${commitPolicyRow(tx, ctx, s)}
    ), want as (
      select x->>'batchId' as batch_id, x->>'claimId' as claim_id, x->>'claimToken' as claim_token
      from jsonb_array_elements(${JSON.stringify([...want.values()])}::text::jsonb) x
    ), chk as (
      select (select hash from stamp) as stamp_hash,
        exists (select 1 from fence) as fence_ok,
        (select jsonb_build_object('agentId', agent_id, 'status', status, 'expiresAtMs', expires_at_ms,
          'dataSensitivityCeiling', data_sensitivity_ceiling) from policy) as policy,
        coalesce((select head_revision from sessions where session_id = ${s}), 0) as head,
        (select count(*) from queued_batches q join want w
          on q.batch_id = w.batch_id and q.claim_id = w.claim_id and q.claim_token = w.claim_token
          where q.session_id = ${s}) as owned_count
    ), ok as (
      select chk.head, (chk.stamp_hash is null and chk.fence_ok and coalesce(chk.policy->>'status', 'active') = 'active'
        and (${commit.expectedHeadRevision ?? null}::bigint is null or chk.head = ${commit.expectedHeadRevision ?? null}::bigint)
        and chk.owned_count = ${want.size}) as ok
      from chk
    ), head_w as (
      insert into sessions as cur (session_id, head_revision, leaf_node_id, current_agent_frame_id, checkpoint_ref)
      select ${s}::text, ok.head + 1, ${commit.state.graph.leafNodeId}::text, ${commit.state.currentAgentFrameId}::text,
        'ckpt:' || ${s}::text || ':' || (ok.head + 1)
      from ok where ok.ok
      on conflict (session_id) do update set head_revision = excluded.head_revision, leaf_node_id = excluded.leaf_node_id,
        current_agent_frame_id = excluded.current_agent_frame_id, checkpoint_ref = excluded.checkpoint_ref
      where cur.head_revision = excluded.head_revision - 1
      returning head_revision, checkpoint_ref
    ), ckpt as (
      insert into checkpoints (session_id, revision, checkpoint, execution_state)
      select ${s}::text, head_revision, ${ckpt.json}::text::jsonb, ${ckpt.bytes}::bytea from head_w
    ), old_frames as (
      delete from agent_frames where session_id = ${s} and revision < (select head_revision from head_w)
    ), frames as (
      insert into agent_frames (session_id, revision, position, frame, execution_state_snapshot)
      select ${s}::text, h.head_revision, e.ord, e.f->'frame', decode(e.f->>'snapshot', 'base64')
      from head_w h, jsonb_array_elements(${framesJson(commit.state.agentFrames)}::text::jsonb) with ordinality e(f, ord)
    ), ${nodesWrite(tx, s, commit)}, usage as (
      insert into usage_ledger (session_id, revision, position, source, model, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens)
      select ${s}::text, h.head_revision, e.ord, e.u->>'source', e.u->>'model', (e.u->'usage'->>'inputTokens')::bigint,
        (e.u->'usage'->>'outputTokens')::bigint, (e.u->'usage'->>'cachedInputTokens')::bigint, (e.u->'usage'->>'reasoningTokens')::bigint
      from head_w h, jsonb_array_elements(${usage}::text::jsonb) with ordinality e(u, ord)
    ), gone as (
      delete from queued_batches q using want w
      where exists (select 1 from head_w) and q.session_id = ${s} and q.batch_id = w.batch_id
        and q.claim_id = w.claim_id and q.claim_token = w.claim_token
      returning q.*
    ), remembered as (${sourceKeysRemember(tx, ctx, 'completed')}
    ), attached as (
      update attachment_manifest set committed_at_ms = ${now}
      where session_id = ${s} and attachment_id = any(${textArray(tx, commit.committedAttachmentIds ?? [])})
        and committed_at_ms is null and exists (select 1 from head_w)
    ), ${release} stamped as (
      insert into turn_stamps (session_id, turn_id, hash, head_revision, checkpoint_ref, enqueued_batches, committed_at_ms)
      select ${s}::text, ${stamp?.turnId ?? null}::text, ${stamp?.hash ?? null}::text, head_revision, checkpoint_ref, '[]'::jsonb, ${now}
      from head_w where ${writeStamp}::boolean
    ), ${then ? tx`${then.steps},` : tx``} checked as (
      select case when exists (select 1 from head_w) and (select count(*) from gone) <> ${want.size}
        then ${refuse(tx, 'commit_race')} end as refused
    )
    select chk.stamp_hash, (select head_revision from stamp) as stamp_head, (select checkpoint_ref from stamp) as stamp_ref,
      (select enqueued_batches from stamp) as stamp_batches, chk.fence_ok, chk.policy, chk.head, chk.owned_count, ok.ok,
      (select head_revision from head_w) as new_head, (select checkpoint_ref from head_w) as new_ref, checked.refused ${then ? then.columns : tx``}
    from chk, ok, checked ${then ? then.from : tx``}`;
}

/**
 * What a statement adds after the commit's writes (commit-claim.ts): CTEs that may read `fence`
 * (the locked lease row's enqueue_mark), `want` (the completed batches) and `head_w` (non-empty
 * when the commit wrote), output columns (starting with a comma), and a from-clause tail.
 */
export interface CommitThen {
  steps: Fragment;
  columns: Fragment;
  from: Fragment;
}

/**
 * The checks' verdict, in the contract's order. Returns the stored result of an identical stamp
 * replay; throws the typed error of the first failed check. The statement wrote nothing unless
 * every check passed (`ok` and a new head).
 */
export function commitVerdict(ctx: PgContext, commit: RuntimeCommit, outbox: NormalizedDraft[], check: CommitCheckRow): RuntimeCommitResult | null {
  const sessionId = commit.sessionId;
  const stamp = commit.turnStamp;
  if (check.stamp_hash !== null) {
    if (check.stamp_hash !== stamp!.hash) {
      throw new TurnCommitConflictError(`turn ${stamp!.turnId} was already committed with different content`, { sessionId, turnId: stamp!.turnId });
    }
    return { headRevision: check.stamp_head!, checkpointRef: check.stamp_ref!, enqueuedBatches: check.stamp_batches ?? [] };
  }
  if (!check.fence_ok) throw new SessionLeaseExpiredError(`the commit of ${sessionId} has no live lease fence`, { sessionId });
  commitCheckPolicy(ctx, sessionId, check.policy, outbox);
  const expected = commit.expectedHeadRevision;
  if (typeof expected === 'number' && expected !== check.head) {
    throw new HeadRevisionConflictError(`expected head revision ${expected}, the session is at ${check.head}`, { sessionId, expected, actual: check.head });
  }
  if (!check.ok) throw claimsGone(sessionId);
  if (check.new_head === null) {
    throw new HeadRevisionConflictError(`a concurrent commit of ${sessionId} won the head write`, { sessionId, actual: check.head });
  }
  return null;
}

/**
 * A single-statement commit reads the stamp from its snapshot, taken before it waited for the
 * lease row lock: an identical commit that held the lock (a retry racing its own first attempt)
 * may have landed in between, making this one fail its fence or head check. When a stamped commit
 * fails, the stamp is read again; if it is there now, the verdict is the stamp's (replay or
 * conflict), else the original failure stands.
 */
export async function stampLandedMeanwhile(
  ctx: PgContext,
  commit: RuntimeCommit,
  outbox: NormalizedDraft[],
  check: CommitCheckRow,
  failure: unknown,
): Promise<RuntimeCommitResult> {
  const stamp = commit.turnStamp;
  if (!stamp || check.stamp_hash !== null) throw failure;
  const rows = await runStatement(
    () => ctx.sql<Pick<CommitCheckRow, 'stamp_hash' | 'stamp_head' | 'stamp_ref' | 'stamp_batches'>[]>`
      select hash as stamp_hash, head_revision as stamp_head, checkpoint_ref as stamp_ref, enqueued_batches as stamp_batches
      from turn_stamps where session_id = ${commit.sessionId} and turn_id = ${stamp.turnId}`,
  );
  if (rows.length === 0) throw failure;
  return commitVerdict(ctx, commit, outbox, { ...check, ...rows[0]! })!;
}

export function claimsGone(sessionId: string): QueuedWorkClaimExpiredError {
  return new QueuedWorkClaimExpiredError(`a completed claim of ${sessionId} no longer owns its batches`, { sessionId });
}

/**
 * commit: validates, checks the binding (step 1), then runs the statement (or, with an outbox,
 * the transaction) described in the file comment. Returns the new result, or the stored one on an
 * idempotent stamp replay.
 */
export async function sessionCommit(ctx: PgContext, input: RuntimeCommit): Promise<RuntimeCommitResult> {
  const { commit, outbox } = validateCommit(input, ctx.limits);
  commitCheckBinding(commit, outbox);
  const sessionId = commit.sessionId;
  if (outbox.length === 0) {
    let check: CommitCheckRow;
    try {
      const rows = await runStatement(() => commitStatement(ctx.sql as unknown as Tx, ctx, commit, commit.turnStamp !== undefined) as unknown as Promise<CommitCheckRow[]>, true);
      check = rows[0]!;
    } catch (err) {
      if (isRefusal(err, 'commit_race')) throw claimsGone(sessionId);
      throw err;
    }
    let replay: RuntimeCommitResult | null;
    try {
      replay = commitVerdict(ctx, commit, outbox, check);
    } catch (err) {
      replay = await stampLandedMeanwhile(ctx, commit, outbox, check, err);
    }
    if (replay) {
      if (commit.releaseLease) await runStatement(() => leaseReleaseStatement(ctx.sql, ctx, commit.releaseLease!));
      return replay;
    }
    return { headRevision: check.new_head!, checkpointRef: check.new_ref!, enqueuedBatches: [] };
  }
  return runTransaction(ctx.sql, async (tx) => {
    let check: CommitCheckRow;
    try {
      // The lock first: the statement's snapshot then includes every commit that held it before.
      const [, rows] = await Promise.all([leaseLockRow(tx, sessionId), commitStatement(tx, ctx, commit, false)]);
      check = (rows as unknown as CommitCheckRow[])[0]!;
    } catch (err) {
      if (isRefusal(err, 'commit_race')) throw claimsGone(sessionId);
      throw err;
    }
    const replay = commitVerdict(ctx, commit, outbox, check);
    if (replay) {
      if (commit.releaseLease) await leaseReleaseStatement(tx, ctx, commit.releaseLease);
      return replay;
    }
    const enqueuedBatches: QueuedWorkBatch[] = [];
    for (const draft of outbox) enqueuedBatches.push((await batchEnqueue(tx, ctx, draft)).batch);
    const result: RuntimeCommitResult = { headRevision: check.new_head!, checkpointRef: check.new_ref!, enqueuedBatches };
    const stamp = commit.turnStamp;
    if (stamp) {
      await tx`
        insert into turn_stamps (session_id, turn_id, hash, head_revision, checkpoint_ref, enqueued_batches, committed_at_ms)
        values (${sessionId}, ${stamp.turnId}, ${stamp.hash}, ${result.headRevision}::bigint, ${result.checkpointRef},
          ${JSON.stringify(enqueuedBatches)}::text::jsonb, ${ctx.clock.now()})`;
    }
    return result;
  });
}
