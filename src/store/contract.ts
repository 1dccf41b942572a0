/**
 * The durable store contract (spec/02-store-contract.md). Two implementations:
 * `createPostgresStore` (src/store/postgres) is the product; `createInMemoryStore`
 * (src/store/memory) is the reference model. Both pass test/conformance/.
 *
 * Every time value is epoch milliseconds taken from the store clock (database time plus the
 * test offset of `clock.advance`). Fencing tokens and revisions are numbers.
 */

import type { DataSensitivity, TaskSessionOperations } from './policy-types.js';
import type { OperatorOperations } from './operator-types.js';
import type { ApiKeyOperations } from './tenant-types.js';

export type * from './policy-types.js';
export type * from './operator-types.js';
export type * from './tenant-types.js';

// ---------------------------------------------------------------------------------------------
// Leases

export type OwnerLiveness =
  | { kind: 'opaque' }
  | {
      kind: 'local_process';
      hostId: string;
      bootId: string;
      pid: number;
      /** Field 22 of /proc/<pid>/stat (process start time in clock ticks), as a decimal string. */
      processStartTicks: string;
    };

export interface LeaseOwner {
  /** Stable name of the owner (for example a worker's host and slot). */
  ownerId: string;
  /** Random per process start: a restarted process with the same ownerId is another holder. */
  incarnationId: string;
  /** How a same-host successor can prove this owner dead. Absent means opaque. */
  liveness?: OwnerLiveness;
}

export interface SessionLease {
  sessionId: string;
  owner: LeaseOwner;
  /** Secret, ≥ 128 bits from a CSPRNG. Never logged. */
  leaseToken: string;
  /** Increases with every new holder and is never reused. */
  fencingToken: number;
  claimedAtMs: number;
  expiresAtMs: number;
}

/** The proof of a live lease presented to claims and commits; a completion (release) has the same shape. */
export interface LeaseFence {
  sessionId: string;
  owner: LeaseOwner;
  leaseToken: string;
  fencingToken: number;
}

export type LeaseClaimOutcome = { kind: 'acquired'; lease: SessionLease } | { kind: 'busy'; holder: SessionLease };

// ---------------------------------------------------------------------------------------------
// Queued work

export type DeliveryPolicy = 'earliest_safe_boundary' | 'after_current_turn_commit';
export type SlotPolicy = 'exclusive' | 'join';
export type MergeKey = { kind: 'never' } | { kind: 'group'; key: string };
export type ClaimBoundary = 'idle' | 'active_turn_checkpoint';

export type TurnInputItem = { type: 'text'; text: string } | { type: 'image_ref'; attachmentId: string };

export interface ProcessWakeDelivery {
  wakeId: string;
  targetSessionId: string;
  targetScopeId: string;
  processId: string;
  sequence: number;
  eventType: string;
  dedupeKey: string;
  input: string;
  createdAtMs: number;
}

export type SessionCommandKind = 'reset_session' | 'refresh_tool_catalog';
export interface SessionCommand {
  kind: SessionCommandKind;
  reason: string;
}

export type QueuedWorkPayload =
  | { type: 'turn_input'; input: { items: TurnInputItem[] } }
  | { type: 'process_wake'; wake: ProcessWakeDelivery }
  | { type: 'session_command'; command: SessionCommand };

export interface QueuedWorkBatchDraft {
  sessionId: string;
  deliveryPolicy: DeliveryPolicy;
  slotPolicy: SlotPolicy;
  /** Which `join` batches may share a turn. Default `{ kind: 'never' }`. */
  mergeKey?: MergeKey;
  /** Idempotency key, unique per session; a replay returns the first stored batch. */
  sourceKey?: string;
  /**
   * With `sourceKey`: what identifies the request behind the key (for example a SHA-256 of an HTTP
   * body, `requestHashOf`), stored with the key. A replay naming another hash than the stored one
   * is refused with IdempotencyKeyReusedError and writes nothing; a replay without one, or of a
   * key stored without one, returns the first batch as before. Not stored in the batch.
   */
  requestHash?: string;
  /** Not claimable before this store time. Default 0 (at once). */
  availableAtMs?: number;
  /** The producing agent; refused (AgentMismatchError) when the task session belongs to another. Not stored. */
  agentId?: string;
  /** The input's sensitivity; refused above the task session's ceiling. Not stored. */
  sensitivity?: DataSensitivity;
  /**
   * The producing tenant (default: the default tenant). The first enqueue of a session nobody owns
   * makes it this tenant's; a session of another tenant is refused with SessionNotFoundError, as if
   * it did not exist, and nothing is written. Source keys are per session, so per tenant too. Not
   * stored with the batch; ignored on a commit's outbox drafts (their session is the commit's).
   */
  tenantId?: string;
  payloads: QueuedWorkPayload[];
}

/**
 * `queued`: in the queue (held or not). The other states appear only on a source-key replay of a
 * batch that already left the queue: `completed` by a turn commit, `cancelled` by `queue.cancel`,
 * `dead_lettered` by `queue.deadLetter`.
 */
export type QueuedWorkBatchStatus = 'queued' | 'completed' | 'cancelled' | 'dead_lettered';

export interface QueuedWorkItem {
  /** `${batchId}:item:${index}` */
  itemId: string;
  payload: QueuedWorkPayload;
}

export interface QueuedWorkBatch {
  batchId: string;
  sessionId: string;
  deliveryPolicy: DeliveryPolicy;
  slotPolicy: SlotPolicy;
  mergeKey: MergeKey;
  sourceKey: string | null;
  availableAtMs: number;
  /** Strictly increasing across the store, never reused. */
  enqueueSeq: number;
  enqueuedAtMs: number;
  items: QueuedWorkItem[];
  status: QueuedWorkBatchStatus;
}

/**
 * A batch as a claim hands it out: with the failures counted on it so far, so the worker can tell
 * a suspect (a batch whose last turn died with its worker) and run it alone (src/runtime/isolation.ts).
 */
export interface ClaimedBatch extends QueuedWorkBatch {
  /** Failed turn attempts counted on the batch: thrown turns, and turns that ran alone (`markClaimAlone`) interrupted by their holder's takeover. 0 on a fresh batch. */
  attempts: number;
  /** The last failure's text (`INTERRUPTED_TURN` of src/store/reasons.ts after a takeover); null before any. */
  lastError: string | null;
}

export interface QueuedWorkClaim {
  sessionId: string;
  claimId: string;
  owner: LeaseOwner;
  /** Secret, ≥ 128 bits from a CSPRNG. Never logged. */
  claimToken: string;
  /** The head row's claim counter after this claim: re-claiming abandoned or expired work yields a higher one. */
  fencingToken: number;
  claimedAtMs: number;
  expiresAtMs: number;
  batches: ClaimedBatch[];
}

/** What a turn commit presents to complete a claim: `queueClaimCompletion(claim)`. */
export interface QueueClaimCompletion {
  sessionId: string;
  claimId: string;
  claimToken: string;
  batchIds: string[];
}

export interface DeadLetter {
  batchId: string;
  sessionId: string;
  reason: string;
  /** Failed turn attempts counted on the batch before it was dead-lettered. */
  attempts: number;
  deadLetteredAtMs: number;
  batch: QueuedWorkBatch;
}

/** What `queue.enqueueWithOutcome` did with a draft. */
export interface EnqueueOutcome {
  /** The stored batch: the new one, or the one its source key already names. */
  batch: QueuedWorkBatch;
  /** True when the source key already named a batch (nothing was written): an idempotent replay. */
  replayed: boolean;
}

/**
 * One page of a session's queue, by `enqueueSeq`: the batches after `afterEnqueueSeq` (default 0),
 * at most `limit` (1–1,000; default: all, for callers inside the runtime).
 */
export interface QueuePage {
  afterEnqueueSeq?: number;
  limit?: number;
}

/**
 * One page of dead letters, by (deadLetteredAtMs, enqueueSeq): those after `after` (default: from
 * the first), at most `limit` (1–1,000; default: all).
 */
export interface DeadLetterPage {
  after?: { deadLetteredAtMs: number; enqueueSeq: number };
  limit?: number;
}

/** A batch as the reconciler sees it: enough to publish its BullMQ job. */
export interface QueuedBatchRef {
  batchId: string;
  sessionId: string;
  enqueueSeq: number;
  availableAtMs: number;
  /** A live claim is on it. */
  held: boolean;
}

/** Why a claim was abandoned after a failed turn (see `queue.abandonClaim`). */
export interface ClaimFailure {
  /** The error text kept with a dead letter. */
  reason: string;
  /** Failed attempts after which a batch is dead-lettered. */
  maxAttempts: number;
}

export interface ClaimReadyRequest {
  sessionId: string;
  fence: LeaseFence;
  owner: LeaseOwner;
  boundary: ClaimBoundary;
  ttlMs: number;
  maxBatches: number;
  /**
   * When given, the session's unheld queued batches whose failed attempts reached it are
   * dead-lettered, with their last error, in the same transaction before the selection. Attempts
   * count failed turns (`abandonClaim` with a failure) and interrupted ones (a claim marked alone
   * that died with its holder's takeover), so a turn that keeps killing its worker ends as a dead
   * letter too.
   */
  maxAttempts?: number;
}

/**
 * What a worker claims between turns (beyond spec 02's three claims, which it combines): the
 * session command at the queue head alone, else the ready group `claimReady` would select at the
 * idle boundary. With `releaseLeaseWhenEmpty`, a claim that finds nothing releases the lease
 * under `fence` in the same statement: the end of a drain costs no extra round trip.
 */
export interface ClaimNextRequest {
  sessionId: string;
  fence: LeaseFence;
  owner: LeaseOwner;
  ttlMs: number;
  maxBatches: number;
  /** As in ClaimReadyRequest: exhausted batches are dead-lettered first. */
  maxAttempts?: number;
  releaseLeaseWhenEmpty?: boolean;
}

export interface ClaimNextResult {
  claim: QueuedWorkClaim | null;
  /** Nothing was claimed and the lease was released, as asked. */
  leaseReleased: boolean;
}

/**
 * The start of a drain in one call (one statement in Postgres): `leases.tryClaim`, then the first
 * `claimNext` and the session's active path, all from one snapshot. The lease is taken only when
 * there is something to do: ready work to claim, or a lease that was not released (an expired or
 * the caller's own live one) to take over or re-enter. A session with nothing ready and a free
 * lease is left as it was (`idle`).
 */
export interface AcquireAndClaimNextRequest {
  sessionId: string;
  owner: LeaseOwner;
  ttlMs: number;
  maxBatches: number;
  /** As in ClaimNextRequest. */
  maxAttempts?: number;
}

export type AcquireAndClaimNextResult =
  | { kind: 'busy'; holder: SessionLease }
  | { kind: 'idle' }
  | {
      kind: 'acquired';
      lease: SessionLease;
      /**
       * The first claim (never null here) and the session as `load(sessionId, { kind: 'active_path' })`
       * reads it. Null when the store took the lease without claiming: a takeover or re-entry (the
       * previous holder's claims are dropped first), or batches at `maxAttempts` to dead-letter;
       * the caller then claims with `queue.claimNext` and loads the session itself.
       */
      first: { claim: QueuedWorkClaim; session: PersistedSessionRead | null } | null;
    };

/** The claim `sessions.commitAndClaimNext` takes after its commit: a ClaimNextRequest under the commit's `leaseFence`. */
export interface CommitNextClaim {
  owner: LeaseOwner;
  ttlMs: number;
  maxBatches: number;
  maxAttempts?: number;
  releaseLeaseWhenEmpty?: boolean;
}

export interface CommitAndClaimNextResult {
  result: RuntimeCommitResult;
  /**
   * The next claim, taken after the commit landed (as `queue.claimNext` would take it then). Null
   * when the store did not take it: an idempotent replay, a commit with an outbox, batches at
   * `maxAttempts` to dead-letter, or a race with another writer of the queue; the caller then
   * claims with `queue.claimNext`. The commit's outcome never depends on the claim.
   */
  next: ClaimNextResult | null;
}

/** What one process holds: renewed together by `leases.renewHeld`. */
export interface RenewHeldRequest {
  ttlMs: number;
  leases: LeaseFence[];
  claims: QueuedWorkClaim[];
}

/** Per item, in request order: the renewed lease or claim, or null when it was no longer held (nothing changed for it). */
export interface RenewHeldResult {
  leases: (SessionLease | null)[];
  claims: (QueuedWorkClaim | null)[];
}

export interface ClaimByBatchIdsRequest {
  sessionId: string;
  fence: LeaseFence;
  owner: LeaseOwner;
  boundary: ClaimBoundary;
  ttlMs: number;
  batchIds: string[];
}

export interface ClaimLeadingSessionCommandRequest {
  sessionId: string;
  fence: LeaseFence;
  owner: LeaseOwner;
  ttlMs: number;
}

// ---------------------------------------------------------------------------------------------
// Session state and commits

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
}

export interface TokenLedgerEntry {
  source: string;
  model: string;
  usage: TokenUsage;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type SessionNodePayload =
  | { kind: 'message'; role: 'user' | 'assistant' | 'system' | 'tool'; parts: JsonValue[] }
  | { kind: 'event'; event: JsonValue };

export interface SessionNode {
  nodeId: string;
  parentNodeId: string | null;
  causedBy?: string | null;
  agentFrameId?: string | null;
  /** Epoch milliseconds. */
  timestamp: number;
  payload: SessionNodePayload;
}

export type GraphDelta =
  | { kind: 'unchanged'; leafNodeId: string | null }
  | { kind: 'append'; nodes: SessionNode[]; leafNodeId: string | null }
  | { kind: 'replace'; nodes: SessionNode[]; leafNodeId: string | null };

export interface Checkpoint {
  turnIndex: number;
  toolStateGeneration?: number | null;
  pluginSnapshotRevision?: number | null;
  executionState?: Uint8Array | null;
  data?: JsonValue;
}

export interface AgentFrame {
  frameId: string;
  sessionId: string;
  parentFrameId: string | null;
  reason: string;
  executionStateSnapshot?: Uint8Array | null;
}

export interface SessionStateSnapshot {
  graph: GraphDelta;
  checkpoint: Checkpoint;
  agentFrames: AgentFrame[];
  currentAgentFrameId: string | null;
}

export interface TurnStamp {
  sessionId: string;
  turnId: string;
  /** `turnCommitHash(commit)`. */
  hash: string;
}

export interface RuntimeCommit {
  sessionId: string;
  /** CAS: 0 means "expect a fresh session"; null or absent: no check. */
  expectedHeadRevision?: number | null;
  state: SessionStateSnapshot;
  usageDeltas?: TokenLedgerEntry[];
  /** Required unless this is an idempotent stamp replay. */
  leaseFence?: LeaseFence;
  /** Released at the end of the same transaction (guarded like `leases.release`). */
  releaseLease?: LeaseFence;
  turnStamp?: TurnStamp;
  completedQueueClaims?: QueueClaimCompletion[];
  /** Transactional outbox: enqueued by the same transaction. */
  enqueueBatches?: QueuedWorkBatchDraft[];
  committedAttachmentIds?: string[];
}

export interface RuntimeCommitResult {
  headRevision: number;
  checkpointRef: string;
  enqueuedBatches: QueuedWorkBatch[];
}

export type SessionReadScope = { kind: 'full_graph' } | { kind: 'active_path'; leafNodeId?: string | null };

export interface PersistedSessionRead {
  sessionId: string;
  headRevision: number;
  graph: { nodes: SessionNode[]; leafNodeId: string | null };
  checkpoint: Checkpoint | null;
  agentFrames: AgentFrame[];
  currentAgentFrameId: string | null;
  usageLedger: TokenLedgerEntry[];
}

export type SessionRelation = { kind: 'root' } | { kind: 'child'; parentSessionId: string };

export interface SessionMeta {
  sessionId: string;
  sessionName: string;
  /** Epoch milliseconds. */
  createdAt: number;
  model: string;
  cwd: string | null;
  relation: SessionRelation;
}

// ---------------------------------------------------------------------------------------------
// Maintenance and attachments

export interface VacuumReport {
  removedNodeCount: number;
  removedSourceKeyCount: number;
}

export interface GcReport {
  rootCount: number;
  retainedCount: number;
  deletedCount: number;
}

export interface AttachmentIntent {
  sessionId: string;
  attachmentId: string;
  canonicalUri: string;
  /** Store time of the intent; `recordIntent` fills it from the store clock when absent. */
  intentAtMs?: number;
}

export interface AttachmentManifestRow {
  sessionId: string;
  attachmentId: string;
  canonicalUri: string;
  intentAtMs: number;
  committedAtMs: number | null;
}

/** Write-ahead manifest of attachment content, keyed by (sessionId, attachmentId). */
export interface AttachmentManifest {
  /** Upsert an intent; never erases a commit stamp. */
  recordIntent(intent: AttachmentIntent): Promise<void>;
  /** Stamp existing rows of this session as committed; ids without a row are ignored. */
  commitRefs(sessionId: string, attachmentIds: string[]): Promise<void>;
  /** Uncommitted intents with `intentAtMs <= olderThanMs`, ordered by (attachmentId, sessionId). */
  listUncommitted(olderThanMs: number): Promise<AttachmentManifestRow[]>;
  /**
   * True when the content must be kept: some session has committed it, or recorded an intent for it
   * after `olderThanMs` (a put that may still be on its way to a commit).
   */
  isReferenced(attachmentId: string, olderThanMs: number): Promise<boolean>;
  /** Delete one row; no error when it is missing. */
  forget(sessionId: string, attachmentId: string): Promise<void>;
}

export interface AttachmentCreateMeta {
  mediaType: string;
  width?: number;
  height?: number;
  label?: string;
}

export interface AttachmentRef {
  /** Lowercase hex SHA-256 of the bytes. */
  id: string;
  mediaType: string;
  byteLength: number;
  width?: number;
  height?: number;
  label?: string;
}

export interface StoredAttachment {
  meta: AttachmentRef;
  bytes: Uint8Array;
}

/** Content-addressed attachment bytes. `delete` is by content id: only `reclaimOrphanedAttachments` should call it. */
export interface AttachmentStore {
  /** What survives a restart: `durable` bytes do, `inline` ones (process memory) do not. Absent means `inline`. */
  readonly durability?: 'durable' | 'inline';
  put(bytes: Uint8Array, meta: AttachmentCreateMeta): Promise<AttachmentRef>;
  /** Throws `AttachmentNotFoundError` when absent. */
  get(id: string): Promise<StoredAttachment>;
  /** Idempotent. */
  delete(id: string): Promise<void>;
}

export interface AttachmentReclamationReport {
  scannedIntentCount: number;
  reclaimedCount: number;
}

/** Narrows a call to one tenant's sessions; absent: every tenant (operators, in-process callers). */
export interface TenantScope {
  tenantId?: string;
}

// ---------------------------------------------------------------------------------------------
// Limits and the store

export interface Limits {
  /** Payload items in one batch. Default 64. */
  maxPayloadsPerBatch: number;
  /** UTF-8 bytes of one batch's payloads serialized as JSON. Default 256 KiB. */
  maxBatchBytes: number;
  /** Characters of a source key. Default 256. */
  maxSourceKeyLength: number;
  /** Characters of a merge key. Default 256. */
  maxMergeKeyLength: number;
  /** Batches one claim may take. Default 64. */
  maxBatchesPerClaim: number;
  /** Longest lease or claim TTL in milliseconds. Default 1 hour. */
  maxTtlMs: number;
  /**
   * Batches one session may have queued; `queue.enqueue` refuses more with QueueFullError (a
   * source-key replay still answers). Default 1,000 (1,000 × 256 KiB bounds a session's queue at
   * 256 MiB; a conversation queues a handful). The commit outbox is not counted against it.
   */
  maxQueuedBatchesPerSession: number;
  /** Furthest `availableAtMs` that `queue.enqueue` accepts, in ms after the store's now. Default 365 days. */
  maxDelayMs: number;
}

export interface RuntimeStore {
  /** 'durable' for Postgres, 'inline' for the in-memory reference model. */
  readonly durability: 'durable' | 'inline';
  readonly leases: {
    tryClaim(sessionId: string, owner: LeaseOwner, ttlMs: number): Promise<LeaseClaimOutcome>;
    reclaim(sessionId: string, owner: LeaseOwner, observedHolder: LeaseFence, ttlMs: number): Promise<LeaseClaimOutcome>;
    renew(fence: LeaseFence, ttlMs: number): Promise<SessionLease>;
    /**
     * A process's heartbeat in one call (one statement in Postgres): renews every live lease that
     * matches its fence, as `renew`, and every claim whose batches all still carry it unexpired, as
     * `queue.renewClaim`. A lost item reads null and does not stop the others. Invalid input throws
     * InvalidInputError before anything changes.
     */
    renewHeld(req: RenewHeldRequest): Promise<RenewHeldResult>;
    /** A drain's first round trip: lease, first claim and session read; see AcquireAndClaimNextRequest. */
    acquireAndClaimNext(req: AcquireAndClaimNextRequest): Promise<AcquireAndClaimNextResult>;
    release(completion: LeaseFence): Promise<void>;
    /** For operators; null when the session was never leased. */
    get(sessionId: string): Promise<SessionLease | null>;
    transfer(fence: LeaseFence, nextOwner: LeaseOwner, ttlMs: number): Promise<SessionLease>;
    /**
     * Live leases whose holder's liveness is `local_process` on `hostId` and `bootId`, at most
     * `limit` (1–1,000), by session id: what a worker checks to reclaim at once the sessions of a
     * process on its host that died. Includes tokens (reclaim needs the exact holder): not for operators.
     */
    listLiveOnHost(req: { hostId: string; bootId: string; limit: number }): Promise<SessionLease[]>;
  };
  readonly queue: {
    enqueue(draft: QueuedWorkBatchDraft): Promise<QueuedWorkBatch>;
    /** `enqueue`, saying whether the source key made it a replay. */
    enqueueWithOutcome(draft: QueuedWorkBatchDraft): Promise<EnqueueOutcome>;
    claimReady(req: ClaimReadyRequest): Promise<QueuedWorkClaim | null>;
    claimByBatchIds(req: ClaimByBatchIdsRequest): Promise<QueuedWorkClaim | null>;
    claimLeadingSessionCommand(req: ClaimLeadingSessionCommandRequest): Promise<QueuedWorkClaim | null>;
    /** The head session command, else the ready group at the idle boundary; see ClaimNextRequest. */
    claimNext(req: ClaimNextRequest): Promise<ClaimNextResult>;
    renewClaim(claim: QueuedWorkClaim, ttlMs: number): Promise<QueuedWorkClaim>;
    /**
     * Clears the claim from rows that still carry it. With `failure`, also counts a failed attempt on
     * each of those batches and dead-letters, in the same transaction, those that reached
     * `failure.maxAttempts`; returns the dead letters made (empty without `failure`).
     */
    abandonClaim(claim: QueuedWorkClaim, failure?: ClaimFailure): Promise<DeadLetter[]>;
    /**
     * The holder runs the claim's turn alone in its process (no other claim in flight there): if
     * the holder is taken over before the claim ends, its batches count an interrupted attempt.
     * A takeover counts nothing on claims not so marked (it only marks them interrupted). True
     * when the claim, live, still held every batch; false otherwise.
     */
    markClaimAlone(claim: QueuedWorkClaim): Promise<boolean>;
    cancel(sessionId: string, batchId: string): Promise<QueuedWorkBatch | null>;
    /** The batch while it is in the queue (held or not); null once it left (completed, cancelled, dead-lettered) or never existed. */
    get(batchId: string): Promise<QueuedWorkBatch | null>;
    /**
     * Queued batches of every session in `enqueueSeq` order after `afterEnqueueSeq`, at most
     * `limit` (1–10,000): the reconciler's page through the queue.
     */
    scan(req: { afterEnqueueSeq: number; limit: number }): Promise<QueuedBatchRef[]>;
    /** The session's queued batches (held or not) by enqueueSeq; `page` bounds the answer. */
    list(sessionId: string, page?: QueuePage): Promise<QueuedWorkBatch[]>;
    /** Like `list`, without the batches a live claim holds. */
    listPending(sessionId: string, page?: QueuePage): Promise<QueuedWorkBatch[]>;
    deadLetter(sessionId: string, batchId: string, reason: string): Promise<DeadLetter | null>;
    /**
     * Dead letters of one session or all, by (deadLetteredAtMs, enqueueSeq); the page fields bound
     * the answer; with `tenantId`, only dead letters of that tenant's sessions.
     */
    listDeadLetters(sessionId?: string, options?: DeadLetterPage & TenantScope): Promise<DeadLetter[]>;
    /** With `scope.tenantId`: null (nothing written) when the dead letter's session is another tenant's. */
    requeueDeadLetter(batchId: string, scope?: TenantScope): Promise<QueuedWorkBatch | null>;
  };
  readonly sessions: TaskSessionOperations & {
    commit(commit: RuntimeCommit): Promise<RuntimeCommitResult>;
    /**
     * `commit`, then the next claim in the same statement (Postgres): a turn and the one after it
     * cost one round trip. The commit needs a `leaseFence` and no `releaseLease` (the claim
     * releases the lease when asked and nothing is left). Errors are exactly `commit`'s.
     */
    commitAndClaimNext(commit: RuntimeCommit, next: CommitNextClaim): Promise<CommitAndClaimNextResult>;
    load(sessionId: string, scope: SessionReadScope): Promise<PersistedSessionRead | null>;
    loadNode(sessionId: string, nodeId: string): Promise<SessionNode | null>;
    saveMeta(meta: SessionMeta): Promise<void>;
    loadMeta(sessionId: string): Promise<SessionMeta | null>;
  };
  readonly attachments: AttachmentManifest;
  /** API keys in the store (issue 14); the CLI creates, lists and revokes them, the API server looks them up. */
  readonly apiKeys: ApiKeyOperations;
  /** Read-only views for operators (dashboard, CLI, HTTP). */
  readonly operator: OperatorOperations;
  readonly maintenance: {
    tombstoneNodes(sessionId: string, nodeIds: string[]): Promise<void>;
    vacuum(): Promise<VacuumReport>;
    gcUnreachable(): Promise<GcReport>;
  };
  /** Store time. `advance` shifts it forward for tests (never backwards). */
  readonly clock: { nowMs(): Promise<number>; advance(ms: number): void };
  close(): Promise<void>;
}
