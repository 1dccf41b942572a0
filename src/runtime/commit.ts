/**
 * Building and landing a turn commit: one Postgres transaction with the fence, the CAS on the
 * head revision, every claim's completion, the new state, the outbox and the turn stamp.
 */
import type {
  Checkpoint,
  CommitAndClaimNextResult,
  CommitNextClaim,
  LeaseFence,
  PersistedSessionRead,
  QueuedWorkClaim,
  RuntimeCommit,
  RuntimeCommitResult,
  RuntimeStore,
  SessionCommand,
  SessionNode,
  TokenLedgerEntry,
} from '../store/contract.js';
import { queueClaimCompletion } from '../store/drafts.js';
import { turnCommitHash } from '../store/hash.js';
import { CommitOutcomeUnknownError, StoreUnavailableError } from '../errors.js';
import type { NodeDraft, TurnResult } from './turn.js';

export interface TurnCommitInput {
  sessionId: string;
  turnId: string;
  fence: LeaseFence;
  session: PersistedSessionRead | null;
  claims: QueuedWorkClaim[];
  result: TurnResult;
  usage: TokenLedgerEntry[];
  committedAttachmentIds: string[];
  /** Release the lease in the same transaction (the drain's last turn). */
  release: boolean;
}

/** Fills node ids, parents and timestamps, chaining the turn's nodes from the session leaf. */
export function materializeNodes(turnId: string, leaf: string | null, drafts: NodeDraft[]): SessionNode[] {
  let parent = leaf;
  return drafts.map((draft, index) => {
    const node: SessionNode = {
      nodeId: draft.nodeId ?? `${turnId}:${index}`,
      parentNodeId: draft.parentNodeId !== undefined ? draft.parentNodeId : parent,
      causedBy: draft.causedBy ?? null,
      agentFrameId: draft.agentFrameId ?? null,
      timestamp: draft.timestamp ?? Date.now(),
      payload: draft.payload,
    };
    parent = node.nodeId;
    return node;
  });
}

export function nextCheckpoint(previous: Checkpoint | null, patch: Partial<Checkpoint> | undefined): Checkpoint {
  return { ...(previous ?? {}), turnIndex: (previous?.turnIndex ?? 0) + 1, ...(patch ?? {}) };
}

/** The stamped commit of a turn. Built once: a retry must carry the very same content. */
export function buildTurnCommit(input: TurnCommitInput): RuntimeCommit {
  const { session } = input;
  const leaf = session?.graph.leafNodeId ?? null;
  const nodes = materializeNodes(input.turnId, leaf, input.result.append);
  const last = nodes.at(-1);
  const commit: RuntimeCommit = {
    sessionId: input.sessionId,
    expectedHeadRevision: session?.headRevision ?? 0,
    state: {
      graph: last ? { kind: 'append', nodes, leafNodeId: last.nodeId } : { kind: 'unchanged', leafNodeId: leaf },
      checkpoint: nextCheckpoint(session?.checkpoint ?? null, input.result.checkpoint),
      agentFrames: input.result.agentFrames ?? session?.agentFrames ?? [],
      currentAgentFrameId:
        input.result.currentAgentFrameId !== undefined ? input.result.currentAgentFrameId : (session?.currentAgentFrameId ?? null),
    },
    usageDeltas: input.usage,
    leaseFence: input.fence,
    completedQueueClaims: input.claims.map(queueClaimCompletion),
    enqueueBatches: input.result.enqueue ?? [],
    committedAttachmentIds: input.committedAttachmentIds,
  };
  if (input.release) commit.releaseLease = input.fence;
  commit.turnStamp = { sessionId: input.sessionId, turnId: input.turnId, hash: turnCommitHash(commit) };
  return commit;
}

/** The commit that applies an operator's session command. */
export function buildCommandCommit(
  sessionId: string,
  turnId: string,
  fence: LeaseFence,
  session: PersistedSessionRead | null,
  claim: QueuedWorkClaim,
  command: SessionCommand,
): RuntimeCommit {
  const previous = session?.checkpoint ?? null;
  const state: RuntimeCommit['state'] =
    command.kind === 'reset_session'
      ? { graph: { kind: 'replace', nodes: [], leafNodeId: null }, checkpoint: { turnIndex: 0 }, agentFrames: [], currentAgentFrameId: null }
      : {
          graph: { kind: 'unchanged', leafNodeId: session?.graph.leafNodeId ?? null },
          checkpoint: { ...(previous ?? { turnIndex: 0 }), toolStateGeneration: (previous?.toolStateGeneration ?? 0) + 1 },
          agentFrames: session?.agentFrames ?? [],
          currentAgentFrameId: session?.currentAgentFrameId ?? null,
        };
  const commit: RuntimeCommit = {
    sessionId,
    expectedHeadRevision: session?.headRevision ?? 0,
    state,
    leaseFence: fence,
    completedQueueClaims: [queueClaimCompletion(claim)],
  };
  commit.turnStamp = { sessionId, turnId, hash: turnCommitHash(commit) };
  return commit;
}

/**
 * Commits, retrying only when the outcome is unknown or the store was briefly unreachable: the
 * stamp makes a retry return the original result instead of committing twice. Three retries
 * over ~1.5 s cover a Postgres failover blip; longer outages let the lease lapse. With `next`,
 * the commit takes the next claim in the same statement (sessions.commitAndClaimNext); a retry
 * that replays the stamp answers `next: null`, and the caller claims itself.
 */
export async function commitWithRetry(store: RuntimeStore, commit: RuntimeCommit, next?: CommitNextClaim, retries = 3): Promise<CommitAndClaimNextResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (next) return await store.sessions.commitAndClaimNext(commit, next);
      return { result: await store.sessions.commit(commit), next: null };
    } catch (err) {
      const retryable = err instanceof CommitOutcomeUnknownError || err instanceof StoreUnavailableError;
      if (!retryable || attempt >= retries) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

/** The session as it stands after `commit` landed, without reading it back. */
export function sessionAfter(session: PersistedSessionRead | null, commit: RuntimeCommit, result: RuntimeCommitResult): PersistedSessionRead {
  const graph = commit.state.graph;
  const nodes =
    graph.kind === 'replace' ? graph.nodes : graph.kind === 'append' ? [...(session?.graph.nodes ?? []), ...graph.nodes] : (session?.graph.nodes ?? []);
  return {
    sessionId: commit.sessionId,
    headRevision: result.headRevision,
    graph: { nodes, leafNodeId: graph.leafNodeId },
    checkpoint: commit.state.checkpoint,
    agentFrames: commit.state.agentFrames,
    currentAgentFrameId: commit.state.currentAgentFrameId,
    usageLedger: [...(session?.usageLedger ?? []), ...(commit.usageDeltas ?? [])],
  };
}
