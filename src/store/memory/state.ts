/**
 * The whole state of the in-memory reference model, written once here with who sets and who
 * clears each field. Every operation in this folder is synchronous between its validation and
 * its return, so on Node's single thread each one is atomic without locks: the model never
 * awaits while it holds a half-made decision.
 */
import type {
  AgentFrame,
  AttachmentManifestRow,
  Checkpoint,
  DeadLetter,
  LeaseOwner,
  Limits,
  QueuedWorkBatch,
  RuntimeCommitResult,
  SessionMeta,
  SessionNode,
  TokenLedgerEntry,
} from '../contract.js';
import type { TaskSession } from '../policy-types.js';
import type { ApiKeyRecord } from '../tenant-types.js';

/** One per session, created by the first acquire and never deleted (the fencing token survives). */
export interface LeaseRow {
  sessionId: string;
  owner: LeaseOwner;
  /** Set by acquire and transfer; null after release. */
  leaseToken: string | null;
  /** +1 on every acquire, reclaim and transfer; never reset. */
  fencingToken: number;
  claimedAtMs: number;
  /** Renewed by re-entry and renew; set to the release time by release. */
  expiresAtMs: number;
}

/** A claim stamped on a queued batch by a claim; cleared by abandon, overwritten by a re-claim after expiry. */
export interface ClaimStamp {
  claimId: string;
  claimToken: string;
  owner: LeaseOwner;
  claimedAtMs: number;
  expiresAtMs: number;
  /** Set by markClaimAlone: its holder runs the claim's turn alone, so a takeover counts an interrupted attempt. */
  alone?: boolean;
}

/** A batch while it is in the queue. Deleted by completion (commit), cancel and dead-lettering. */
export interface BatchRow {
  /** Always `status: 'queued'` here. */
  batch: QueuedWorkBatch;
  claim: ClaimStamp | null;
  /** +1 on every claim, kept across abandon, expiry, dead-letter and requeue. */
  claimCount: number;
  /** +1 per abandon with a failure; reset to 0 by requeue. */
  attempts: number;
  lastError: string | null;
}

/** A batch that left the queue with a source key: remembered for `sourceKeyRetentionMs`. */
export interface SourceKeyMemory {
  /** The batch as stored, with its terminal status. */
  batch: QueuedWorkBatch;
  finishedAtMs: number;
}

/** A dead-lettered batch, kept until requeued. */
export interface DeadLetterRow {
  deadLetter: DeadLetter;
  claimCount: number;
}

export interface StoredNode {
  node: SessionNode;
  /** Set by `tombstoneNodes`; the node is physically removed by `vacuum`. */
  tombstoned: boolean;
}

/** Created by the first commit of a session; never deleted. */
export interface SessionRow {
  sessionId: string;
  headRevision: number;
  /** In insertion order. */
  nodes: StoredNode[];
  leafNodeId: string | null;
  agentFrames: AgentFrame[];
  currentAgentFrameId: string | null;
  usageLedger: TokenLedgerEntry[];
}

export interface TurnStampRow {
  hash: string;
  result: RuntimeCommitResult;
  /** Store time of the commit that wrote the stamp (operator views). */
  committedAtMs: number;
}

/**
 * A task session's record (spec 04). Created by create / createIfUnderCap; `callsMade` and the rate
 * window are moved by useTools; `status` set to 'expired' by useTools past the time limit and to
 * 'closed' (with `closedAtMs`) by close / closeAllForAgent. Removed (never deleted) by cleanup
 * after the retention: `removedAtMs` set, status made durable. `expiresAtMs` and a time-expired
 * `status` are otherwise derived on read, never stored.
 */
export interface TaskSessionRow {
  session: Omit<TaskSession, 'expiresAtMs'>;
  rateWindowStartMs: number;
  rateWindowCalls: number;
  /** Set by cleanup; a removed record reads as absent but keeps refusing its id (docs/store-semantics.md). */
  removedAtMs?: number;
}

/** Store options of the task-session policy. */
export interface PolicySettings {
  /** Enqueue to a session without a task-session record is allowed (true) or SessionNotFoundError (false). */
  implicitSessions: boolean;
  /** How long closed and expired records are kept before `cleanup` removes them, in ms. */
  taskSessionRetentionMs: number;
}

/** An API key: created by `apiKeys.create`, `revokedAtMs` set by `revoke`; never deleted. */
export interface ApiKeyRow {
  record: ApiKeyRecord;
  keySha256: string;
}

export interface MemoryState {
  limits: Limits;
  /** Session id → owning tenant: set by the first admitted enqueue or by create; never changed or deleted. */
  sessionTenants: Map<string, string>;
  /** Keyed by key id. */
  apiKeys: Map<string, ApiKeyRow>;
  policy: PolicySettings;
  /** Keyed by session id. */
  taskSessions: Map<string, TaskSessionRow>;
  sourceKeyRetentionMs: number;
  /** Test offset added to the process clock by `clock.advance`. */
  clockOffsetMs: number;
  /** Last `enqueueSeq` handed out; global to the store. */
  lastEnqueueSeq: number;
  leases: Map<string, LeaseRow>;
  /** Keyed by batch id, kept in `enqueueSeq` order: inserts always carry the largest seq. */
  batches: Map<string, BatchRow>;
  /** `sourceKeyOf(sessionId, sourceKey)` → batch id of the queued batch holding it. */
  queuedSourceKeys: Map<string, string>;
  /** `sourceKeyOf(sessionId, sourceKey)` → the memory of the batch that left the queue. */
  sourceKeyMemories: Map<string, SourceKeyMemory>;
  /** `sourceKeyOf(sessionId, sourceKey)` → the requestHash of the draft that took the key; absent without one. */
  sourceKeyHashes: Map<string, string>;
  /** Keyed by batch id. */
  deadLetters: Map<string, DeadLetterRow>;
  sessions: Map<string, SessionRow>;
  /** Keyed by checkpoint ref; written by every commit, pruned by `gcUnreachable`. */
  checkpoints: Map<string, Checkpoint>;
  /** `stampKeyOf(sessionId, turnId)` → the stamp and the result it returned. */
  turnStamps: Map<string, TurnStampRow>;
  metas: Map<string, SessionMeta>;
  /** `manifestKeyOf(sessionId, attachmentId)` → row. */
  manifest: Map<string, AttachmentManifestRow>;
}

export function createState(
  limits: Limits,
  sourceKeyRetentionMs: number,
  policy: PolicySettings = { implicitSessions: true, taskSessionRetentionMs: 24 * 60 * 60 * 1000 },
): MemoryState {
  return {
    limits,
    policy,
    sessionTenants: new Map(),
    apiKeys: new Map(),
    taskSessions: new Map(),
    sourceKeyRetentionMs,
    clockOffsetMs: 0,
    lastEnqueueSeq: 0,
    leases: new Map(),
    batches: new Map(),
    queuedSourceKeys: new Map(),
    sourceKeyMemories: new Map(),
    sourceKeyHashes: new Map(),
    deadLetters: new Map(),
    sessions: new Map(),
    checkpoints: new Map(),
    turnStamps: new Map(),
    metas: new Map(),
    manifest: new Map(),
  };
}

/** Store time: the process clock plus the test offset. */
export function storeNow(state: MemoryState): number {
  return Date.now() + state.clockOffsetMs;
}

// A NUL cannot occur in a session id, so it cannot make two different pairs collide.
export function sourceKeyOf(sessionId: string, sourceKey: string): string {
  return `${sessionId}\u0000${sourceKey}`;
}

export function stampKeyOf(sessionId: string, turnId: string): string {
  return `${sessionId}\u0000${turnId}`;
}

export function manifestKeyOf(sessionId: string, attachmentId: string): string {
  return `${sessionId}\u0000${attachmentId}`;
}

export function checkpointRefOf(sessionId: string, headRevision: number): string {
  return `ckpt:${sessionId}:${headRevision}`;
}

/** Callers never share memory with the store: everything in and out is a deep copy. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}

/** A claim holds its batch while it has a token and has not expired (strictly). */
export function isClaimLive(claim: ClaimStamp | null, now: number): claim is ClaimStamp {
  return claim !== null && claim.expiresAtMs > now;
}

export function isBatchHeld(row: BatchRow, now: number): boolean {
  return isClaimLive(row.claim, now);
}

export function isSessionCommandBatch(batch: QueuedWorkBatch): boolean {
  return batch.items.some((item) => item.payload.type === 'session_command');
}
