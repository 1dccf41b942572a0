/**
 * The turn handler API: what the application's code sees of one turn (spec/03-runtime.md).
 */
import type { Logger } from 'pino';
import type {
  AgentFrame,
  AttachmentCreateMeta,
  AttachmentRef,
  Checkpoint,
  ClaimBoundary,
  DeliveryPolicy,
  MergeKey,
  PersistedSessionRead,
  QueuedWorkBatchDraft,
  QueuedWorkClaim,
  QueuedWorkPayload,
  SessionNodePayload,
  SlotPolicy,
  StoredAttachment,
  TokenLedgerEntry,
} from '../store/contract.js';
import type { DataSensitivity } from '../store/policy-types.js';

/** One payload item handed to a turn, with where it came from. */
export interface TurnInputView {
  batchId: string;
  itemId: string;
  payload: QueuedWorkPayload;
  deliveryPolicy: DeliveryPolicy;
  slotPolicy: SlotPolicy;
  mergeKey: MergeKey;
  enqueueSeq: number;
  enqueuedAtMs: number;
  /** Where it was claimed: at the start of the turn (`idle`) or mid-turn (`active_turn_checkpoint`). */
  boundary: ClaimBoundary;
}

export interface TurnContext {
  sessionId: string;
  /** Deterministic from the turn's first claim, so a retried commit carries the same stamp. */
  turnId: string;
  fencingToken: number;
  /** Materialized from the claimed batches, in queue order. */
  inputs: TurnInputView[];
  /** The committed state this turn starts from (active path); null before the first commit. */
  session: PersistedSessionRead | null;
  /**
   * A safe boundary: claims `earliest_safe_boundary` work at the queue head now and adds its
   * claims to the turn, so the final commit completes them. Returns [] when there is none.
   */
  checkpoint(): Promise<TurnInputView[]>;
  /** Fires when the lease is lost or the worker shuts down; `signal.reason` says which. */
  signal: AbortSignal;
  /**
   * Session policy (whitelist, sensitivity ceiling, budget, rate limit): all or nothing. The
   * worker adds its agent id (WorkerOptions.agentId); `sensitivity` is what the tools declare.
   */
  tools: { use(names: string[], options?: ToolUseDeclaration): Promise<void> };
  usage: { record(entry: TokenLedgerEntry): void };
  attachments: {
    put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef>;
    get(id: string): Promise<StoredAttachment>;
  };
  /** pino child bound to sessionId, turnId, fencingToken and batchIds. */
  log: Logger;
}

/** A node the turn appends. Ids, parents and timestamps are filled in when absent. */
export interface NodeDraft {
  /** Default `${turnId}:${index}`: deterministic, so a retried commit has the same content. */
  nodeId?: string;
  /** Default: the previous node of this turn, or the session's leaf. */
  parentNodeId?: string | null;
  causedBy?: string | null;
  agentFrameId?: string | null;
  timestamp?: number;
  payload: SessionNodePayload;
}

export interface TurnResult {
  append: NodeDraft[];
  /** Merged over the previous checkpoint; `turnIndex` advances by one unless given. */
  checkpoint?: Partial<Checkpoint>;
  /** Outbox: enqueued by the same commit, published to BullMQ after it. */
  enqueue?: QueuedWorkBatchDraft[];
  /**
   * The session's agent frames after this turn (each with this session's id), replacing the
   * previous ones; absent keeps them (`turn.session.agentFrames`). Loaded back by the next turn.
   */
  agentFrames?: AgentFrame[];
  /** The current agent frame after this turn; absent keeps the previous one. */
  currentAgentFrameId?: string | null;
}

export type TurnHandler = (turn: TurnContext) => Promise<TurnResult>;

/** Why a turn's signal fired. */
export type TurnAbortReason = 'lease_lost' | 'shutdown' | 'session_closed';

export class TurnAbortedError extends Error {
  readonly code = 'TURN_ABORTED';
  constructor(readonly reason: TurnAbortReason) {
    super(`turn aborted: ${reason}`);
  }
}

export function inputViews(claim: QueuedWorkClaim, boundary: ClaimBoundary): TurnInputView[] {
  return claim.batches.flatMap((batch) =>
    batch.items.map((item) => ({
      batchId: batch.batchId,
      itemId: item.itemId,
      payload: item.payload,
      deliveryPolicy: batch.deliveryPolicy,
      slotPolicy: batch.slotPolicy,
      mergeKey: batch.mergeKey,
      enqueueSeq: batch.enqueueSeq,
      enqueuedAtMs: batch.enqueuedAtMs,
      boundary,
    })),
  );
}

/** The turn id of a turn whose first claim is `claim`. */
export function turnIdFor(claim: QueuedWorkClaim): string {
  return `turn:${claim.claimId}`;
}

/** What a turn declares about the tools it calls (src/store/policy-types.ts UseToolsOptions). */
export interface ToolUseDeclaration {
  /** The data sensitivity of the tools; above the session's ceiling is SensitivityExceededError. */
  sensitivity?: DataSensitivity;
}
