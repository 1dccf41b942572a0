/**
 * The turn commit in the reference model (spec 02 "Turn commit"): the eleven steps in the
 * contract's order, plus the task-session step after the fence (docs/store-semantics.md), all or nothing. Every check (steps 1–5 and the graph delta's node ids) runs
 * before the first write, and nothing after it can throw, so a rejected commit writes nothing.
 */
import { InvalidInputError, HeadRevisionConflictError, QueuedWorkClaimExpiredError, SessionBindingMismatchError, TurnCommitConflictError } from '../../errors.js';
import type { QueueClaimCompletion, QueuedWorkBatch, RuntimeCommit, RuntimeCommitResult, SessionNode } from '../contract.js';
import { validateCommit } from '../validate.js';
import { manifestCommitRefsAt } from './attachments.js';
import { fenceValidate, leaseReleaseGuarded } from './leases.js';
import { batchInsert, batchRemove, sourceKeyReplay } from './queue.js';
import { taskSessionAdmitCommit } from './task-sessions.js';
import { checkpointRefOf, copy, stampKeyOf, storeNow, type BatchRow, type MemoryState, type SessionRow, type StoredNode } from './state.js';

/** Step 1: everything the commit names must be its own session. Reads only. */
function commitCheckBinding(commit: RuntimeCommit, outboxSessionIds: string[]): void {
  const sessionId = commit.sessionId;
  const mismatch = (what: string, other: string) =>
    new SessionBindingMismatchError(`${what} names session ${other}, but the commit is for ${sessionId}`, { sessionId, other });
  if (commit.leaseFence && commit.leaseFence.sessionId !== sessionId) throw mismatch('leaseFence', commit.leaseFence.sessionId);
  if (commit.releaseLease && commit.releaseLease.sessionId !== sessionId) throw mismatch('releaseLease', commit.releaseLease.sessionId);
  outboxSessionIds.forEach((other, i) => {
    if (other !== sessionId) throw mismatch(`enqueueBatches[${i}]`, other);
  });
  (commit.completedQueueClaims ?? []).forEach((completion, i) => {
    if (completion.sessionId !== sessionId) throw mismatch(`completedQueueClaims[${i}]`, completion.sessionId);
  });
  if (commit.turnStamp && commit.turnStamp.sessionId !== sessionId) {
    throw new TurnCommitConflictError(`the turn stamp names session ${commit.turnStamp.sessionId}, but the commit is for ${sessionId}`, {
      sessionId,
    });
  }
}

/**
 * Step 5: every batch of every completion is still queued in this session under the
 * completion's claim id and token. Returns the rows to complete, each once. Reads only.
 */
function commitCheckCompletions(state: MemoryState, sessionId: string, completions: QueueClaimCompletion[]): BatchRow[] {
  const rows = new Map<string, BatchRow>();
  for (const completion of completions) {
    for (const batchId of completion.batchIds) {
      const row = state.batches.get(batchId);
      const owned =
        row !== undefined &&
        row.batch.sessionId === sessionId &&
        row.claim !== null &&
        row.claim.claimId === completion.claimId &&
        row.claim.claimToken === completion.claimToken;
      if (!owned) {
        throw new QueuedWorkClaimExpiredError(`claim ${completion.claimId} no longer owns batch ${batchId}`, {
          claimId: completion.claimId,
          batchId,
        });
      }
      rows.set(batchId, row);
    }
  }
  return [...rows.values()];
}

/**
 * Step 6, computed ahead: the session's node list after the graph delta. An appended node id
 * already stored in the session, or repeated within the delta, is InvalidInputError. Reads only.
 */
function commitNextNodes(session: SessionRow | undefined, commit: RuntimeCommit): StoredNode[] {
  const graph = commit.state.graph;
  const previous = session?.nodes ?? [];
  if (graph.kind === 'unchanged') return previous;
  const base = graph.kind === 'replace' ? [] : previous;
  const seen = new Set(base.map((stored) => stored.node.nodeId));
  const added = graph.nodes.map((node: SessionNode, i): StoredNode => {
    if (seen.has(node.nodeId)) {
      throw InvalidInputError.field(`commit.state.graph.nodes[${i}].nodeId`, 'a node id not yet in the session', JSON.stringify(node.nodeId));
    }
    seen.add(node.nodeId);
    return { node: copy(node), tombstoned: false };
  });
  return [...base, ...added];
}

/** Commits one turn (see the file comment). Returns the result, or on an idempotent replay the stored one. */
export function sessionCommit(state: MemoryState, input: RuntimeCommit): RuntimeCommitResult {
  const { commit, outbox } = validateCommit(input, state.limits);
  const now = storeNow(state);
  const sessionId = commit.sessionId;

  commitCheckBinding(commit, outbox.map((draft) => draft.sessionId));

  if (commit.turnStamp) {
    const stored = state.turnStamps.get(stampKeyOf(sessionId, commit.turnStamp.turnId));
    if (stored) {
      if (stored.hash !== commit.turnStamp.hash) {
        throw new TurnCommitConflictError(`turn ${commit.turnStamp.turnId} was already committed with different content`, {
          sessionId,
          turnId: commit.turnStamp.turnId,
        });
      }
      if (commit.releaseLease) leaseReleaseGuarded(state, commit.releaseLease, now);
      return copy(stored.result);
    }
  }

  fenceValidate(state, commit.leaseFence, now);
  taskSessionAdmitCommit(state, sessionId, outbox, now);
  // A reused source key refuses the commit before anything is written (batchInsert would throw midway).
  for (const draft of outbox) sourceKeyReplay(state, draft, now);

  const session = state.sessions.get(sessionId);
  const currentRevision = session?.headRevision ?? 0;
  if (typeof commit.expectedHeadRevision === 'number' && commit.expectedHeadRevision !== currentRevision) {
    throw new HeadRevisionConflictError(`expected head revision ${commit.expectedHeadRevision}, the session is at ${currentRevision}`, {
      sessionId,
      expected: commit.expectedHeadRevision,
      actual: currentRevision,
    });
  }

  const completedRows = commitCheckCompletions(state, sessionId, commit.completedQueueClaims ?? []);
  const nodes = commitNextNodes(session, commit);

  // Every check passed: from here on, only writes that cannot fail.
  const headRevision = currentRevision + 1;
  const checkpointRef = checkpointRefOf(sessionId, headRevision);
  state.sessions.set(sessionId, {
    sessionId,
    headRevision,
    nodes,
    leafNodeId: commit.state.graph.leafNodeId,
    agentFrames: copy(commit.state.agentFrames),
    currentAgentFrameId: commit.state.currentAgentFrameId,
    usageLedger: [...(session?.usageLedger ?? []), ...copy(commit.usageDeltas ?? [])],
  });
  state.checkpoints.set(checkpointRef, copy(commit.state.checkpoint));

  for (const row of completedRows) batchRemove(state, row, 'completed', now);

  manifestCommitRefsAt(state, sessionId, commit.committedAttachmentIds ?? [], now);

  const enqueuedBatches: QueuedWorkBatch[] = outbox.map((draft) => batchInsert(state, draft, now).batch);

  const result: RuntimeCommitResult = { headRevision, checkpointRef, enqueuedBatches };
  if (commit.turnStamp) {
    state.turnStamps.set(stampKeyOf(sessionId, commit.turnStamp.turnId), { hash: commit.turnStamp.hash, result: copy(result), committedAtMs: now });
  }

  if (commit.releaseLease) leaseReleaseGuarded(state, commit.releaseLease, now);
  return copy(result);
}
