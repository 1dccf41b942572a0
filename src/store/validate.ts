/**
 * Validation at the store boundary, shared by both implementations so they refuse exactly the
 * same inputs. Every failure is an InvalidInputError naming the field, what was expected and
 * what came; nothing is written before validation passes.
 */
import { z } from 'zod';
import { InvalidInputError, describeValue } from '../errors.js';
import type {
  AcquireAndClaimNextRequest,
  ClaimBoundary,
  CommitNextClaim,
  DataSensitivity,
  LeaseFence,
  LeaseOwner,
  Limits,
  MergeKey,
  QueuedWorkBatchDraft,
  QueuedWorkClaim,
  QueuedWorkPayload,
  RenewHeldRequest,
  RuntimeCommit,
  SessionMeta,
} from './contract.js';

export const DEFAULT_LIMITS: Limits = {
  maxPayloadsPerBatch: 64,
  maxBatchBytes: 256 * 1024,
  maxSourceKeyLength: 256,
  maxMergeKeyLength: 256,
  maxBatchesPerClaim: 64,
  maxTtlMs: 60 * 60 * 1000,
  maxQueuedBatchesPerSession: 1000,
  maxDelayMs: 365 * 24 * 60 * 60 * 1000,
};

const MAX_PAGE_LIMIT = 1000;

/** A QueuePage after validation: `limit` null means all. */
export function parseQueuePage(page: unknown, field = 'page'): { afterEnqueueSeq: number; limit: number | null } {
  if (page === undefined) return { afterEnqueueSeq: 0, limit: null };
  if (typeof page !== 'object' || page === null) throw InvalidInputError.field(field, 'an object', describeValue(page));
  const { afterEnqueueSeq = 0, limit } = page as { afterEnqueueSeq?: unknown; limit?: unknown };
  assertNonNegativeInteger(afterEnqueueSeq, `${field}.afterEnqueueSeq`);
  return { afterEnqueueSeq, limit: parsePageLimit(limit, `${field}.limit`) };
}

/** A DeadLetterPage after validation: `after` null means from the first, `limit` null means all. */
export function parseDeadLetterPage(page: unknown, field = 'page'): { after: { deadLetteredAtMs: number; enqueueSeq: number } | null; limit: number | null } {
  if (page === undefined) return { after: null, limit: null };
  if (typeof page !== 'object' || page === null) throw InvalidInputError.field(field, 'an object', describeValue(page));
  const { after, limit } = page as { after?: unknown; limit?: unknown };
  let cursor: { deadLetteredAtMs: number; enqueueSeq: number } | null = null;
  if (after !== undefined) {
    if (typeof after !== 'object' || after === null) throw InvalidInputError.field(`${field}.after`, 'an object', describeValue(after));
    const { deadLetteredAtMs, enqueueSeq } = after as { deadLetteredAtMs?: unknown; enqueueSeq?: unknown };
    assertNonNegativeInteger(deadLetteredAtMs, `${field}.after.deadLetteredAtMs`);
    assertNonNegativeInteger(enqueueSeq, `${field}.after.enqueueSeq`);
    cursor = { deadLetteredAtMs, enqueueSeq };
  }
  return { after: cursor, limit: parsePageLimit(limit, `${field}.limit`) };
}

function parsePageLimit(limit: unknown, field: string): number | null {
  if (limit === undefined) return null;
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_PAGE_LIMIT) {
    throw InvalidInputError.field(field, `an integer from 1 to ${MAX_PAGE_LIMIT}`, describeValue(limit));
  }
  return limit as number;
}

/**
 * `availableAtMs` of an enqueued draft: at most `limits.maxDelayMs` after the store's now. Without
 * a bound, 9007199254740991 was accepted (issue 14): a batch nobody would ever run, holding a slot
 * of the session's queue and a BullMQ delay past what its scores represent.
 */
export function assertAvailableAt(availableAtMs: number, nowMs: number, limits: Limits, field = 'draft.availableAtMs'): void {
  if (availableAtMs > nowMs + limits.maxDelayMs) {
    throw InvalidInputError.field(field, `a store time at most ${limits.maxDelayMs} ms after now (${nowMs + limits.maxDelayMs})`, describeValue(availableAtMs));
  }
}

export function resolveLimits(partial?: Partial<Limits>): Limits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw InvalidInputError.field(`limits.${field}`, 'a positive integer', describeValue(value));
  }
  return limits;
}

const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** As src/store/tenants.ts (which imports this module, so the pattern is repeated, not imported). */
const TENANT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** DEFAULT_TENANT_ID of src/store/tenants.ts. */
const DEFAULT_TENANT_ID = 'default';
const MAX_ID_LENGTH = 256;

export function assertSessionId(sessionId: unknown, field = 'sessionId'): asserts sessionId is string {
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    const got = typeof sessionId === 'string' && sessionId.length > 0 && sessionId.length <= 128
      ? `${JSON.stringify(sessionId.slice(0, 40))} (characters outside the set)`
      : describeValue(sessionId);
    throw InvalidInputError.field(field, '1–128 characters of [A-Za-z0-9._:-]', got);
  }
}

/** An opaque id (batch id, claim id, node id, attachment id): 1–256 characters. */
export function assertId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw InvalidInputError.field(field, `1–${MAX_ID_LENGTH} characters`, describeValue(value));
  }
  assertStorableText(value, field);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Postgres text and jsonb cannot hold U+0000, and jsonb refuses unpaired UTF-16 surrogates; both
 * came out of the Postgres store as raw driver errors (found by test/fuzz/enqueue.fuzz.test.ts).
 * Every string of a validated value is checked here, so both stores refuse them alike, before
 * anything is written. Walks arrays and plain objects only (byte arrays are not text).
 */
export function assertStorableText(value: unknown, field: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw InvalidInputError.field(field, 'text without U+0000 (NUL) characters', 'a NUL character');
    if (LONE_SURROGATE.test(value)) throw InvalidInputError.field(field, 'well-formed Unicode text', 'an unpaired UTF-16 surrogate');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertStorableText(item, `${field}[${i}]`));
    return;
  }
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      assertStorableText(key, `${field} (a key)`);
      assertStorableText(item, `${field}.${key}`);
    }
  }
}

export function assertTtl(ttlMs: unknown, limits: Limits, field = 'ttlMs'): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > limits.maxTtlMs) {
    throw InvalidInputError.field(field, `an integer from 0 to ${limits.maxTtlMs} milliseconds`, describeValue(ttlMs));
  }
}

export function assertBoundary(boundary: unknown): asserts boundary is ClaimBoundary {
  if (boundary !== 'idle' && boundary !== 'active_turn_checkpoint') {
    throw InvalidInputError.field('boundary', "'idle' or 'active_turn_checkpoint'", describeValue(boundary));
  }
}

const MAX_META_TEXT = 4096;

/** Session metadata: names and paths are bounded text, times are epoch ms, the relation is a known kind. */
export function assertSessionMeta(meta: unknown): asserts meta is SessionMeta {
  if (typeof meta !== 'object' || meta === null) throw InvalidInputError.field('meta', 'a session meta object', describeValue(meta));
  const m = meta as Partial<SessionMeta>;
  assertSessionId(m.sessionId, 'meta.sessionId');
  for (const field of ['sessionName', 'model'] as const) {
    const value = m[field];
    if (typeof value !== 'string' || value.length > MAX_META_TEXT) {
      throw InvalidInputError.field(`meta.${field}`, `a string of at most ${MAX_META_TEXT} characters`, describeValue(value));
    }
  }
  if (typeof m.createdAt !== 'number' || !Number.isSafeInteger(m.createdAt)) {
    throw InvalidInputError.field('meta.createdAt', 'epoch milliseconds as an integer', describeValue(m.createdAt));
  }
  if (m.cwd !== null && (typeof m.cwd !== 'string' || m.cwd.length > MAX_META_TEXT)) {
    throw InvalidInputError.field('meta.cwd', `null or a string of at most ${MAX_META_TEXT} characters`, describeValue(m.cwd));
  }
  const relation = m.relation as { kind?: unknown; parentSessionId?: unknown } | undefined;
  if (relation?.kind === 'child') assertSessionId(relation.parentSessionId, 'meta.relation.parentSessionId');
  else if (relation?.kind !== 'root') throw InvalidInputError.field('meta.relation.kind', "'root' or 'child'", describeValue(relation?.kind));
}

/** `leases.listLiveOnHost`'s request: host and boot ids as in a liveness record, a limit of 1–1,000. */
export function assertHostQuery(req: unknown): asserts req is { hostId: string; bootId: string; limit: number } {
  const r = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
  assertId(r.hostId, 'hostId');
  assertId(r.bootId, 'bootId');
  if (typeof r.limit !== 'number' || !Number.isSafeInteger(r.limit) || r.limit < 1 || r.limit > 1000) {
    throw InvalidInputError.field('limit', 'an integer from 1 to 1000', describeValue(r.limit));
  }
}

export function assertPositiveInteger(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw InvalidInputError.field(field, 'a positive integer', describeValue(value));
  }
}

export function assertNonNegativeInteger(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw InvalidInputError.field(field, 'a non-negative integer', describeValue(value));
  }
}

const boundedText = (max: number) => z.string().max(max);

const livenessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('opaque') }),
  z.object({
    kind: z.literal('local_process'),
    hostId: z.string().min(1).max(MAX_ID_LENGTH),
    bootId: z.string().min(1).max(MAX_ID_LENGTH),
    pid: z.number().int().positive(),
    processStartTicks: z.string().regex(/^[0-9]{1,20}$/),
  }),
]);

const ownerSchema = z.object({
  ownerId: z.string().min(1).max(MAX_ID_LENGTH),
  incarnationId: z.string().min(1).max(MAX_ID_LENGTH),
  liveness: livenessSchema.optional(),
});

const fenceSchema = z.object({
  sessionId: z.string(),
  owner: ownerSchema,
  leaseToken: z.string().max(MAX_ID_LENGTH),
  fencingToken: z.number().int(),
});

export function parseOwner(owner: unknown, field = 'owner'): LeaseOwner {
  return parseWith(ownerSchema, owner, field) as LeaseOwner;
}

/** Checks a claim's shape (the fields renewal and abandon use): ids, token, batch ids. */
export function assertClaim(claim: unknown): asserts claim is QueuedWorkClaim {
  if (typeof claim !== 'object' || claim === null) throw InvalidInputError.field('claim', 'a queued-work claim', describeValue(claim));
  const c = claim as Partial<QueuedWorkClaim>;
  assertSessionId(c.sessionId, 'claim.sessionId');
  assertId(c.claimId, 'claim.claimId');
  if (typeof c.claimToken !== 'string') throw InvalidInputError.field('claim.claimToken', 'a string', describeValue(c.claimToken));
  if (!Array.isArray(c.batches)) throw InvalidInputError.field('claim.batches', 'an array of batches', describeValue(c.batches));
  c.batches.forEach((b, i) => assertId((b as { batchId?: unknown } | null)?.batchId, `claim.batches[${i}].batchId`));
}

/** A heartbeat's request: TTL, every fence's shape, every claim's shape (InvalidInputError before any write). */
export function parseRenewHeld(req: unknown, limits: Limits): RenewHeldRequest {
  if (typeof req !== 'object' || req === null) throw InvalidInputError.field('req', 'an object', describeValue(req));
  const r = req as Partial<RenewHeldRequest>;
  assertTtl(r.ttlMs, limits);
  if (!Array.isArray(r.leases)) throw InvalidInputError.field('leases', 'an array of lease fences', describeValue(r.leases));
  if (!Array.isArray(r.claims)) throw InvalidInputError.field('claims', 'an array of claims', describeValue(r.claims));
  const leases = r.leases.map((fence, i) => parseFence(fence, `leases[${i}]`));
  r.claims.forEach((claim) => assertClaim(claim));
  return { ttlMs: r.ttlMs, leases, claims: r.claims };
}

/** The request of `leases.acquireAndClaimNext`, checked; maxBatches clamped to the limit (at least 0). */
export function parseAcquireAndClaimNext(req: unknown, limits: Limits): AcquireAndClaimNextRequest {
  if (typeof req !== 'object' || req === null) throw InvalidInputError.field('req', 'an object', describeValue(req));
  const r = req as Partial<AcquireAndClaimNextRequest>;
  assertSessionId(r.sessionId);
  const owner = parseOwner(r.owner);
  assertTtl(r.ttlMs, limits);
  const maxBatches = parseMaxBatches(r.maxBatches, limits);
  if (r.maxAttempts !== undefined) assertPositiveInteger(r.maxAttempts, 'maxAttempts');
  return { sessionId: r.sessionId, owner, ttlMs: r.ttlMs, maxBatches, ...(r.maxAttempts !== undefined ? { maxAttempts: r.maxAttempts } : {}) };
}

/**
 * The `next` of `sessions.commitAndClaimNext`, checked against its commit: the commit must carry a
 * lease fence (the claim's) and no releaseLease (the claim releases when asked).
 */
export function parseCommitNextClaim(commit: RuntimeCommit, next: unknown, limits: Limits): CommitNextClaim & { fence: LeaseFence } {
  if (typeof next !== 'object' || next === null) throw InvalidInputError.field('next', 'an object', describeValue(next));
  if (commit.releaseLease !== undefined) throw InvalidInputError.field('releaseLease', 'absent (the next claim releases the lease when asked)', describeValue(commit.releaseLease));
  if (commit.leaseFence === undefined) throw InvalidInputError.field('leaseFence', 'a lease fence (the next claim is taken under it)', 'undefined');
  const n = next as Partial<CommitNextClaim>;
  const owner = parseOwner(n.owner, 'next.owner');
  assertTtl(n.ttlMs, limits, 'next.ttlMs');
  const maxBatches = parseMaxBatches(n.maxBatches, limits, 'next.maxBatches');
  if (n.maxAttempts !== undefined) assertPositiveInteger(n.maxAttempts, 'next.maxAttempts');
  if (n.releaseLeaseWhenEmpty !== undefined && typeof n.releaseLeaseWhenEmpty !== 'boolean') {
    throw InvalidInputError.field('next.releaseLeaseWhenEmpty', 'a boolean', describeValue(n.releaseLeaseWhenEmpty));
  }
  return {
    owner,
    ttlMs: n.ttlMs,
    maxBatches,
    ...(n.maxAttempts !== undefined ? { maxAttempts: n.maxAttempts } : {}),
    releaseLeaseWhenEmpty: n.releaseLeaseWhenEmpty === true,
    fence: parseFence(commit.leaseFence, 'leaseFence'),
  };
}

function parseMaxBatches(value: unknown, limits: Limits, field = 'maxBatches'): number {
  if (!Number.isSafeInteger(value)) throw InvalidInputError.field(field, 'an integer', describeValue(value));
  return Math.max(Math.min(value as number, limits.maxBatchesPerClaim), 0);
}

/**
 * Checks a fence's shape. A well-formed fence that does not match the lease is not invalid
 * input but a failed fence check (SessionLeaseExpiredError), decided by the store.
 */
export function parseFence(fence: unknown, field = 'fence'): LeaseFence {
  return parseWith(fenceSchema, fence, field) as LeaseFence;
}

function payloadSchema(limits: Limits) {
  const text = z.string().max(limits.maxBatchBytes);
  return z.discriminatedUnion('type', [
    z.object({
      type: z.literal('turn_input'),
      input: z.object({
        items: z
          .array(
            z.discriminatedUnion('type', [
              z.object({ type: z.literal('text'), text }),
              z.object({ type: z.literal('image_ref'), attachmentId: z.string().min(1).max(MAX_ID_LENGTH) }),
            ]),
          )
          .min(1),
      }),
    }),
    z.object({
      type: z.literal('process_wake'),
      wake: z.object({
        wakeId: z.string().min(1).max(MAX_ID_LENGTH),
        targetSessionId: z.string().regex(SESSION_ID),
        targetScopeId: z.string().max(MAX_ID_LENGTH),
        processId: z.string().min(1).max(MAX_ID_LENGTH),
        sequence: z.number().int().nonnegative(),
        eventType: z.string().max(MAX_ID_LENGTH),
        dedupeKey: z.string().max(MAX_ID_LENGTH),
        input: text,
        createdAtMs: z.number().int().nonnegative(),
      }),
    }),
    z.object({
      type: z.literal('session_command'),
      command: z.object({
        kind: z.enum(['reset_session', 'refresh_tool_catalog']),
        reason: boundedText(4096),
      }),
    }),
  ]);
}

function draftSchema(limits: Limits) {
  return z.object({
    sessionId: z.string().regex(SESSION_ID, 'expected 1–128 characters of [A-Za-z0-9._:-]'),
    deliveryPolicy: z.enum(['earliest_safe_boundary', 'after_current_turn_commit']),
    slotPolicy: z.enum(['exclusive', 'join']),
    mergeKey: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('never') }),
        z.object({ kind: z.literal('group'), key: z.string().min(1).max(limits.maxMergeKeyLength) }),
      ])
      .optional(),
    sourceKey: z.string().min(1).max(limits.maxSourceKeyLength).optional().nullable(),
    requestHash: z.string().min(1).max(MAX_ID_LENGTH).optional(),
    availableAtMs: z.number().int().nonnegative().optional().nullable(),
    agentId: z.string().min(1).max(MAX_ID_LENGTH).optional(),
    sensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']).optional(),
    tenantId: z.string().regex(TENANT_ID, 'expected 1–64 characters of [A-Za-z0-9._-]').optional(),
    payloads: z.array(payloadSchema(limits)).min(1).max(limits.maxPayloadsPerBatch),
  });
}

/** A draft after validation, with every default filled in. */
export interface NormalizedDraft {
  sessionId: string;
  deliveryPolicy: QueuedWorkBatchDraft['deliveryPolicy'];
  slotPolicy: QueuedWorkBatchDraft['slotPolicy'];
  mergeKey: MergeKey;
  sourceKey: string | null;
  /** What the caller says identifies the request behind the source key; stored with the key. Null when not given. */
  requestHash: string | null;
  availableAtMs: number;
  /** The producing agent, checked against the task session; never stored. */
  agentId: string | null;
  /** The input's declared sensitivity, checked against the task session's ceiling; never stored. */
  sensitivity: DataSensitivity | null;
  /** The producing tenant (the default tenant when the draft names none); never stored with the batch. */
  tenantId: string;
  payloads: QueuedWorkPayload[];
}

const draftSchemas = new WeakMap<Limits, ReturnType<typeof draftSchema>>();

export function normalizeDraft(draft: unknown, limits: Limits, field = 'draft'): NormalizedDraft {
  let schema = draftSchemas.get(limits);
  if (!schema) {
    schema = draftSchema(limits);
    draftSchemas.set(limits, schema);
  }
  const parsed = parseWith(schema, draft, field);
  const payloads = parsed.payloads as QueuedWorkPayload[];
  const kinds = new Set(payloads.map((p) => p.type === 'session_command'));
  if (kinds.size > 1) {
    throw InvalidInputError.field(`${field}.payloads`, 'session commands alone in their batch', 'session commands mixed with turn work');
  }
  const bytes = Buffer.byteLength(JSON.stringify(payloads), 'utf8');
  if (bytes > limits.maxBatchBytes) {
    throw InvalidInputError.field(`${field}.payloads`, `at most ${limits.maxBatchBytes} bytes of JSON`, `${bytes} bytes`);
  }
  return {
    sessionId: parsed.sessionId,
    deliveryPolicy: parsed.deliveryPolicy,
    slotPolicy: parsed.slotPolicy,
    mergeKey: (parsed.mergeKey ?? { kind: 'never' }) as MergeKey,
    sourceKey: parsed.sourceKey ?? null,
    requestHash: parsed.requestHash ?? null,
    availableAtMs: parsed.availableAtMs ?? 0,
    agentId: parsed.agentId ?? null,
    sensitivity: parsed.sensitivity ?? null,
    tenantId: parsed.tenantId ?? DEFAULT_TENANT_ID,
    payloads,
  };
}

const checkpointSchema = z.object({
  turnIndex: z.number().int().nonnegative(),
  toolStateGeneration: z.number().int().nullable().optional(),
  pluginSnapshotRevision: z.number().int().nullable().optional(),
  executionState: z.instanceof(Uint8Array).nullable().optional(),
  data: z.unknown().optional(),
});

const nodeSchema = z.object({
  nodeId: z.string().min(1).max(MAX_ID_LENGTH),
  parentNodeId: z.string().min(1).max(MAX_ID_LENGTH).nullable(),
  causedBy: z.string().max(MAX_ID_LENGTH).nullable().optional(),
  agentFrameId: z.string().max(MAX_ID_LENGTH).nullable().optional(),
  timestamp: z.number().int(),
  payload: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('message'), role: z.enum(['user', 'assistant', 'system', 'tool']), parts: z.array(z.unknown()) }),
    z.object({ kind: z.literal('event'), event: z.unknown() }),
  ]),
});

const commitSchema = z.object({
  sessionId: z.string().regex(SESSION_ID, 'expected 1–128 characters of [A-Za-z0-9._:-]'),
  expectedHeadRevision: z.number().int().nonnegative().nullable().optional(),
  state: z.object({
    graph: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('unchanged'), leafNodeId: z.string().nullable() }),
      z.object({ kind: z.literal('append'), nodes: z.array(nodeSchema), leafNodeId: z.string().nullable() }),
      z.object({ kind: z.literal('replace'), nodes: z.array(nodeSchema), leafNodeId: z.string().nullable() }),
    ]),
    checkpoint: checkpointSchema,
    agentFrames: z.array(
      z.object({
        frameId: z.string().min(1).max(MAX_ID_LENGTH),
        sessionId: z.string(),
        parentFrameId: z.string().nullable(),
        reason: z.string().max(4096),
        executionStateSnapshot: z.instanceof(Uint8Array).nullable().optional(),
      }),
    ),
    currentAgentFrameId: z.string().nullable(),
  }),
  usageDeltas: z
    .array(
      z.object({
        source: z.string(),
        model: z.string(),
        usage: z.object({
          inputTokens: z.number().int().nonnegative(),
          outputTokens: z.number().int().nonnegative(),
          cachedInputTokens: z.number().int().nonnegative(),
          reasoningTokens: z.number().int().nonnegative(),
        }),
      }),
    )
    .optional(),
  leaseFence: fenceSchema.optional(),
  releaseLease: fenceSchema.optional(),
  turnStamp: z
    .object({ sessionId: z.string(), turnId: z.string().min(1).max(MAX_ID_LENGTH), hash: z.string().regex(/^[0-9a-f]{64}$/) })
    .optional(),
  completedQueueClaims: z
    .array(z.object({ sessionId: z.string(), claimId: z.string().min(1), claimToken: z.string(), batchIds: z.array(z.string().min(1)) }))
    .optional(),
  enqueueBatches: z.array(z.unknown()).optional(),
  committedAttachmentIds: z.array(z.string().min(1).max(MAX_ID_LENGTH)).optional(),
});

/**
 * Checks a commit's shape (not its binding: a fence for another session is a
 * SessionBindingMismatchError, decided by the store in the contract's order) and normalizes
 * its outbox drafts.
 */
export function validateCommit(commit: unknown, limits: Limits): { commit: RuntimeCommit; outbox: NormalizedDraft[] } {
  const parsed = parseWith(commitSchema, commit, 'commit') as unknown as RuntimeCommit;
  const outbox = (parsed.enqueueBatches ?? []).map((d, i) => normalizeDraft(d, limits, `commit.enqueueBatches[${i}]`));
  return { commit: commit as RuntimeCommit, outbox };
}

/** Parses with a zod schema; a failure is InvalidInputError naming the field path, what was expected and what came. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, field: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) {
    assertStorableText(result.data, field);
    return result.data;
  }
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const path = [field, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/\.\[/g, '[');
    return `${path}: ${issue.message}`;
  });
  const first = result.error.issues[0];
  throw new InvalidInputError(problems.join('; '), {
    field: first ? [field, ...first.path.map(String)].join('.') : field,
    issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message, code: i.code })),
  });
}

/** A claim as the runtime hands it back (markClaimAlone): session, claim id, token and batch ids. */
export function assertClaimRef(claim: unknown, field = 'claim'): asserts claim is QueuedWorkClaim {
  if (typeof claim !== 'object' || claim === null) throw InvalidInputError.field(field, 'a queued-work claim', describeValue(claim));
  const c = claim as Partial<QueuedWorkClaim>;
  assertSessionId(c.sessionId, `${field}.sessionId`);
  assertId(c.claimId, `${field}.claimId`);
  if (typeof c.claimToken !== 'string') throw InvalidInputError.field(`${field}.claimToken`, 'a string', describeValue(c.claimToken));
  if (!Array.isArray(c.batches) || c.batches.length === 0) throw InvalidInputError.field(`${field}.batches`, 'a non-empty array of batches', describeValue(c.batches));
  c.batches.forEach((b, i) => assertId((b as { batchId?: unknown } | null)?.batchId, `${field}.batches[${i}].batchId`));
}
