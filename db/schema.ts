/**
 * Every table of the durable store (spec/02-store-contract.md). drizzle-kit generates
 * db/migrations/ from this file; never hand-edit those.
 *
 * Conventions: times are bigint epoch milliseconds computed in SQL from the database clock plus
 * the store's `clock.advance` offset (never the process clock); every session-scoped table is
 * keyed by session_id first; the store writes with postgres.js statements in
 * src/store/postgres/, this file only describes the shape.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });
const ms = (name: string) => bigint(name, { mode: 'number' });

/** Global, strictly increasing order of enqueues (gaps allowed, never reused). */
export const enqueueSeq = pgSequence('queued_batch_enqueue_seq', { startWith: 1, increment: 1 });

/**
 * Session execution leases, one row per session.
 * Written by leases.ts (tryClaim, reclaim, renew, release, transfer), commits.ts (release at the
 * end of a commit) and queue.ts (every enqueue bumps enqueue_mark, inserting a never-held row with
 * fencing_token 0 when the session has none). Never deleted: the fencing token must survive
 * release so it is never reused.
 */
export const sessionLeases = pgTable(
  'session_leases',
  {
    sessionId: text('session_id').primaryKey(),
    /** Holder identity; set by acquire/transfer, kept after release (the last holder). */
    ownerId: text('owner_id').notNull(),
    incarnationId: text('incarnation_id').notNull(),
    /** The holder's OwnerLiveness (null = opaque); read by reclaim. */
    liveness: jsonb('liveness'),
    /** Set by acquire/transfer; cleared (null) by release. Null means "no holder". */
    leaseToken: text('lease_token'),
    /** 1 on the first acquire, +1 on every new holder (acquire, reclaim, transfer); never decreases. */
    fencingToken: bigint('fencing_token', { mode: 'number' }).notNull(),
    claimedAtMs: ms('claimed_at_ms').notNull(),
    /** now + ttl on acquire, re-entry and renew; set to now by release. Live iff token set and > now. */
    expiresAtMs: ms('expires_at_ms').notNull(),
    /**
     * +1 by every enqueue of the session, in the enqueue's own statement (queue.ts). A claim that
     * would release the lease because it found nothing compares the value it locked with the value
     * in its snapshot: a difference means an enqueue committed after the snapshot, so the claim
     * runs again instead of releasing. That makes the holder bound to see every batch enqueued
     * while it holds the lease, so a job that finds the session held can finish at once.
     */
    enqueueMark: bigint('enqueue_mark', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    // 0 only on a row an enqueue inserted for a session never leased (no holder yet).
    check('session_leases_fencing_positive', sql`${t.fencingToken} >= 0`),
    // Held leases by host: a worker's scan for sessions of dead same-host processes. Partial, so
    // released leases (most rows) stay out of it.
    index('session_leases_held_host_idx')
      .on(sql`(${t.liveness}->>'hostId')`)
      .where(sql`${t.leaseToken} is not null`),
  ],
);

/**
 * Queued-work batches while they are in the queue.
 * Written by queue.ts (enqueue, cancel, dead-letter, requeue), claims.ts (claim columns) and
 * commits.ts (outbox inserts). Deleted when the batch leaves the queue: completed by a commit,
 * cancelled, or dead-lettered (a source-key memory and/or a dead letter keeps its copy).
 */
export const queuedBatches = pgTable(
  'queued_batches',
  {
    batchId: text('batch_id').primaryKey(),
    sessionId: text('session_id').notNull(),
    enqueueSeq: bigint('enqueue_seq', { mode: 'number' })
      .notNull()
      .default(sql`nextval('queued_batch_enqueue_seq')`),
    deliveryPolicy: text('delivery_policy').notNull(),
    slotPolicy: text('slot_policy').notNull(),
    /** Null for `{ kind: 'never' }`, else the group key. */
    mergeKey: text('merge_key'),
    /** True when the payloads are session commands (a batch never mixes them with turn work). */
    isCommand: boolean('is_command').notNull(),
    sourceKey: text('source_key'),
    availableAtMs: ms('available_at_ms').notNull(),
    enqueuedAtMs: ms('enqueued_at_ms').notNull(),
    /** QueuedWorkPayload[] as stored; item ids are derived (`${batchId}:item:${index}`). */
    payloads: jsonb('payloads').notNull(),
    /**
     * Claim columns: set together by a claim (claims.ts), expiry moved by renewClaim, cleared together
     * by abandonClaim. A claim is live iff claim_token is set and claim_expires_at_ms > now.
     */
    claimId: text('claim_id'),
    claimToken: text('claim_token'),
    claimOwner: jsonb('claim_owner'),
    claimedAtMs: ms('claimed_at_ms'),
    claimExpiresAtMs: ms('claim_expires_at_ms'),
    /** +1 on every claim, never reset (not even by requeue): the claim fencing token. */
    claimCount: integer('claim_count').notNull().default(0),
    /** Failed turn attempts, +1 by abandonClaim with a failure; reset to 0 by requeue. */
    attempts: integer('attempts').notNull().default(0),
    /** The last failure reason given to abandonClaim. */
    lastError: text('last_error'),
    /**
     * The claim id whose holder said it runs the claim's turn alone in its process
     * (claim-alone.ts markClaimAlone): a takeover counts an interrupted attempt only when this
     * equals claim_id (leases.ts). Cleared by that takeover; a stale value is inert, since every
     * claim has a new claim id.
     */
    aloneClaimId: text('alone_claim_id'),
  },
  (t) => [
    index('queued_batches_session_seq_idx').on(t.sessionId, t.enqueueSeq),
    uniqueIndex('queued_batches_enqueue_seq_key').on(t.enqueueSeq),
    check('queued_batches_delivery_policy', sql`${t.deliveryPolicy} in ('earliest_safe_boundary', 'after_current_turn_commit')`),
    check('queued_batches_slot_policy', sql`${t.slotPolicy} in ('exclusive', 'join')`),
    check(
      'queued_batches_claim_all_or_none',
      sql`(${t.claimToken} is null and ${t.claimId} is null and ${t.claimExpiresAtMs} is null and ${t.claimedAtMs} is null and ${t.claimOwner} is null)
        or (${t.claimToken} is not null and ${t.claimId} is not null and ${t.claimExpiresAtMs} is not null and ${t.claimedAtMs} is not null and ${t.claimOwner} is not null)`,
    ),
    check('queued_batches_counters', sql`${t.claimCount} >= 0 and ${t.attempts} >= 0 and ${t.availableAtMs} >= 0`),
  ],
);

/**
 * Source keys, one row per (session, source key): the idempotency record of enqueue.
 * Written by queue.ts enqueue (insert, or take over an expired memory), by every path that takes a
 * batch out of the queue (status -> terminal, with a copy of the batch), and by requeue (back to
 * queued). Deleted by maintenance vacuum once a terminal memory is older than sourceKeyRetentionMs.
 */
export const sourceKeys = pgTable(
  'source_keys',
  {
    sessionId: text('session_id').notNull(),
    sourceKey: text('source_key').notNull(),
    batchId: text('batch_id').notNull(),
    /** 'queued' while the batch is in queued_batches; terminal once it left (set by that path). */
    status: text('status').notNull(),
    /** Set with the terminal status; null while queued. */
    finishedAtMs: ms('finished_at_ms'),
    /** The batch as stored when it left the queue (a queued_batches row as JSON); null while queued. */
    batch: jsonb('batch'),
    /**
     * The draft's requestHash, written with the key by enqueue (and by the takeover of an expired
     * memory); null when the draft named none. A replay naming another hash is refused.
     */
    requestHash: text('request_hash'),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.sourceKey] }),
    index('source_keys_finished_idx').on(t.finishedAtMs),
    check('source_keys_status', sql`${t.status} in ('queued', 'completed', 'cancelled', 'dead_lettered')`),
    check(
      'source_keys_terminal_has_copy',
      sql`(${t.status} = 'queued') = (${t.finishedAtMs} is null) and (${t.status} = 'queued') = (${t.batch} is null)`,
    ),
  ],
);

/**
 * Dead letters: batches taken out of the queue with a reason.
 * Written by queue.ts deadLetter and abandonClaim-with-failure; deleted by requeueDeadLetter
 * (the batch goes back to queued_batches). Operators may also discard rows.
 */
export const deadLetters = pgTable(
  'dead_letters',
  {
    batchId: text('batch_id').primaryKey(),
    sessionId: text('session_id').notNull(),
    reason: text('reason').notNull(),
    attempts: integer('attempts').notNull(),
    deadLetteredAtMs: ms('dead_lettered_at_ms').notNull(),
    enqueueSeq: bigint('enqueue_seq', { mode: 'number' }).notNull(),
    /** The queued_batches row as JSON (keeps claim_count for later fencing). */
    batch: jsonb('batch').notNull(),
  },
  (t) => [
    index('dead_letters_session_idx').on(t.sessionId, t.deadLetteredAtMs, t.enqueueSeq),
    index('dead_letters_order_idx').on(t.deadLetteredAtMs, t.enqueueSeq),
  ],
);

/**
 * Sessions: the committed head. Written only by commits.ts (insert on the first commit, then
 * head_revision + 1 per commit). Never deleted.
 */
export const sessions = pgTable(
  'sessions',
  {
    sessionId: text('session_id').primaryKey(),
    /** Set by each commit to previous + 1 (1 on the first). */
    headRevision: bigint('head_revision', { mode: 'number' }).notNull(),
    /** The graph delta's leafNodeId of the last commit. */
    leafNodeId: text('leaf_node_id'),
    currentAgentFrameId: text('current_agent_frame_id'),
    /** `ckpt:${sessionId}:${headRevision}`. */
    checkpointRef: text('checkpoint_ref').notNull(),
  },
  (t) => [check('sessions_head_positive', sql`${t.headRevision} >= 1`)],
);

/**
 * Checkpoints, one per committed revision. Written by commits.ts; deleted by maintenance
 * gcUnreachable when no session head references them.
 */
export const checkpoints = pgTable(
  'checkpoints',
  {
    sessionId: text('session_id').notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull(),
    /** The Checkpoint without executionState bytes (those are in execution_state). */
    checkpoint: jsonb('checkpoint').notNull(),
    executionState: bytea('execution_state'),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.revision] })],
);

/**
 * Session graph nodes. Written by commits.ts (append inserts; replace deletes the others and
 * rewrites); tombstoned is set by maintenance tombstoneNodes and never cleared except by a replace;
 * tombstoned rows are deleted by maintenance vacuum.
 */
export const sessionNodes = pgTable(
  'session_nodes',
  {
    sessionId: text('session_id').notNull(),
    nodeId: text('node_id').notNull(),
    parentNodeId: text('parent_node_id'),
    /** Insertion order: (revision, position) of the commit that wrote the node. */
    revision: bigint('revision', { mode: 'number' }).notNull(),
    position: integer('position').notNull(),
    /** The SessionNode as committed. */
    node: jsonb('node').notNull(),
    tombstoned: boolean('tombstoned').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.nodeId] }), index('session_nodes_order_idx').on(t.sessionId, t.revision, t.position)],
);

/**
 * Agent frames of a session's head. Written by commits.ts (the new revision's frames); the previous
 * revision's rows are deleted by the same commit.
 */
export const agentFrames = pgTable(
  'agent_frames',
  {
    sessionId: text('session_id').notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull(),
    position: integer('position').notNull(),
    /** The AgentFrame without executionStateSnapshot bytes. */
    frame: jsonb('frame').notNull(),
    executionStateSnapshot: bytea('execution_state_snapshot'),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.revision, t.position] })],
);

/** Token usage ledger, appended by commits.ts in commit order. Never deleted. */
export const usageLedger = pgTable(
  'usage_ledger',
  {
    sessionId: text('session_id').notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull(),
    position: integer('position').notNull(),
    source: text('source').notNull(),
    model: text('model').notNull(),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull(),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull(),
    cachedInputTokens: bigint('cached_input_tokens', { mode: 'number' }).notNull(),
    reasoningTokens: bigint('reasoning_tokens', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.revision, t.position] }),
    check(
      'usage_ledger_non_negative',
      sql`${t.inputTokens} >= 0 and ${t.outputTokens} >= 0 and ${t.cachedInputTokens} >= 0 and ${t.reasoningTokens} >= 0`,
    ),
  ],
);

/**
 * Turn commit stamps with the result they returned. Written once by commits.ts; never deleted
 * (a replay at any later time must return the same result).
 */
export const turnStamps = pgTable(
  'turn_stamps',
  {
    sessionId: text('session_id').notNull(),
    turnId: text('turn_id').notNull(),
    /** turnCommitHash of the committed content. */
    hash: text('hash').notNull(),
    headRevision: bigint('head_revision', { mode: 'number' }).notNull(),
    checkpointRef: text('checkpoint_ref').notNull(),
    /** QueuedWorkBatch[] the commit enqueued (its outbox), as returned. */
    enqueuedBatches: jsonb('enqueued_batches').notNull(),
    committedAtMs: ms('committed_at_ms').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.turnId] })],
);

/** Session metadata, upserted by reads.ts saveMeta. Never deleted. */
export const sessionMeta = pgTable('session_meta', {
  sessionId: text('session_id').primaryKey(),
  sessionName: text('session_name').notNull(),
  createdAt: ms('created_at').notNull(),
  model: text('model').notNull(),
  cwd: text('cwd'),
  /** SessionRelation: { kind: 'root' } | { kind: 'child', parentSessionId }. */
  relation: jsonb('relation').notNull(),
});

/**
 * Write-ahead attachment manifest. Written by attachments.ts (recordIntent upserts, commitRefs
 * stamps) and commits.ts (committedAttachmentIds); deleted by attachments.ts forget.
 */
export const attachmentManifest = pgTable(
  'attachment_manifest',
  {
    sessionId: text('session_id').notNull(),
    attachmentId: text('attachment_id').notNull(),
    canonicalUri: text('canonical_uri').notNull(),
    intentAtMs: ms('intent_at_ms').notNull(),
    /** Set once by a commit stamp; recordIntent never clears it. */
    committedAtMs: ms('committed_at_ms'),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.attachmentId] }),
    index('attachment_manifest_attachment_idx').on(t.attachmentId),
    index('attachment_manifest_uncommitted_idx').on(t.intentAtMs).where(sql`${t.committedAtMs} is null`),
  ],
);

/**
 * Attachment content, keyed by content id (SHA-256 of the bytes). Written by
 * attachments-content.ts put (first writer wins); deleted by its delete, which only
 * reclaimOrphanedAttachments calls.
 */
export const attachmentContent = pgTable(
  'attachment_content',
  {
    contentId: text('content_id').primaryKey(),
    mediaType: text('media_type').notNull(),
    byteLength: integer('byte_length').notNull(),
    width: integer('width'),
    height: integer('height'),
    label: text('label'),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [check('attachment_content_length', sql`${t.byteLength} = octet_length(${t.bytes})`)],
);

/**
 * Task sessions (spec/04-session-policy.md): the limits a session was created with and what it has
 * used. Written by task-sessions.ts: create / createIfUnderCap insert; useTools consumes budget and
 * moves the rate window, and marks the row expired when its time limit has passed; close and
 * closeAllForAgent set status closed; cleanup retires the row (removed_at_ms) once closed or
 * expired for longer than the store's taskSessionRetentionMs. Never deleted: a removed row is the
 * proof that its id ended, so the id never becomes an implicit session (no policy) again.
 */
export const taskSessions = pgTable(
  'task_sessions',
  {
    sessionId: text('session_id').primaryKey(),
    /** The owning agent; a stated agent that differs is refused (no session fixation). */
    agentId: text('agent_id').notNull(),
    /** string[] as given at creation. */
    delegationChainSnapshot: jsonb('delegation_chain_snapshot').notNull(),
    declaredIntent: text('declared_intent').notNull(),
    /** The tool whitelist. */
    authorizedTools: text('authorized_tools').array().notNull(),
    /** Total tool calls allowed; 0 means none. */
    callBudget: integer('call_budget').notNull(),
    /** +n by each successful useTools of n names; never decreases, never passes call_budget. */
    callsMade: integer('calls_made').notNull().default(0),
    /** Tool calls per window; null: no rate limit. */
    rateLimitPerWindow: integer('rate_limit_per_window'),
    rateLimitWindowSecs: integer('rate_limit_window_secs').notNull().default(60),
    /**
     * The current rate window: set to the creation time, restarted (start = now, calls = n) by the
     * first successful useTools after start + window has passed, else calls += n.
     */
    rateWindowStartMs: ms('rate_window_start_ms').notNull(),
    rateWindowCalls: integer('rate_window_calls').notNull().default(0),
    /**
     * As requested (create refuses more than 24 h). No upper CHECK on purpose: every reader and
     * every decision applies least(time_limit_ms, 24 h), so even a row edited behind the store's
     * back cannot extend a session.
     */
    timeLimitMs: ms('time_limit_ms').notNull(),
    dataSensitivityCeiling: text('data_sensitivity_ceiling').notNull(),
    /** 'active' at creation; 'expired' set by useTools past the time limit; 'closed' by close / closeAllForAgent. */
    status: text('status').notNull(),
    createdAtMs: ms('created_at_ms').notNull(),
    /** Set together with status 'closed', never otherwise. */
    closedAtMs: ms('closed_at_ms'),
    /**
     * Set by cleanup when it removes the record (status then closed or expired for good, tools,
     * delegation chain and intent emptied); never cleared. A removed record reads as absent (get,
     * list) but still refuses enqueue, tool use, commits and a create of the same id.
     */
    removedAtMs: ms('removed_at_ms'),
  },
  (t) => [
    index('task_sessions_agent_idx').on(t.agentId, t.status),
    check('task_sessions_status', sql`${t.status} in ('active', 'closed', 'expired')`),
    check('task_sessions_ceiling', sql`${t.dataSensitivityCeiling} in ('public', 'internal', 'confidential', 'restricted')`),
    check('task_sessions_budget', sql`${t.callBudget} >= 0 and ${t.callsMade} >= 0 and ${t.callsMade} <= ${t.callBudget}`),
    check(
      'task_sessions_rate',
      sql`(${t.rateLimitPerWindow} is null or ${t.rateLimitPerWindow} >= 0) and ${t.rateLimitWindowSecs} >= 1 and ${t.rateWindowCalls} >= 0`,
    ),
    check('task_sessions_time_limit', sql`${t.timeLimitMs} >= 0`),
    check('task_sessions_closed_at', sql`(${t.status} = 'closed') = (${t.closedAtMs} is not null)`),
    check('task_sessions_removed_has_ended', sql`${t.removedAtMs} is null or ${t.status} <> 'active'`),
  ],
);

/**
 * API keys (issue 14), each bound to a tenant, a role and optionally to agent ids. Written by the
 * CLI through the store: `turnlane keys create` inserts, `turnlane keys revoke` sets revoked_at_ms.
 * Never deleted: a revoked key stays listed and its digest keeps being refused.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    /** Public name of the key (listing, revoking, logs); not a secret. */
    keyId: text('key_id').primaryKey(),
    /**
     * Lowercase hex SHA-256 of the key. Keys are 256-bit random tokens from a CSPRNG, so a fast
     * unsalted hash is safe here (nothing to brute-force) and gives an exact-match lookup index.
     */
    keySha256: text('key_sha256').notNull(),
    /** The tenant whose sessions the key works on. */
    tenantId: text('tenant_id').notNull(),
    /** `producer` (its tenant's sessions) or an operator role: `read_only`, `operator`, `admin`. */
    role: text('role').notNull(),
    /** Null: any agent of the tenant; else only task sessions of these agents. */
    agentIds: jsonb('agent_ids'),
    label: text('label').notNull(),
    createdAtMs: ms('created_at_ms').notNull(),
    /** Set once by revoke; null while the key is live. */
    revokedAtMs: ms('revoked_at_ms'),
  },
  (t) => [
    uniqueIndex('api_keys_sha256_key').on(t.keySha256),
    check('api_keys_role', sql`${t.role} in ('producer', 'read_only', 'operator', 'admin')`),
  ],
);

/**
 * Which tenant owns each session (issue 14). Written once, by the first enqueue of a session
 * nobody owns (queue.ts) or by task-session create (task-sessions.ts); never changed and never
 * deleted, since a session's history outlives its queue and its task-session record. Sessions from
 * before tenants were backfilled as the default tenant's.
 */
export const sessionTenants = pgTable(
  'session_tenants',
  {
    sessionId: text('session_id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    ownedAtMs: ms('owned_at_ms').notNull(),
  },
  (t) => [index('session_tenants_tenant_idx').on(t.tenantId, t.sessionId)],
);
