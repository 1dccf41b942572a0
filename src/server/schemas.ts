/**
 * Request shapes of the HTTP API (zod). Parsing failures become InvalidInputError with the
 * field, what was expected and what came, like every other validation in turnlane.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { assertStorableText } from '../store/validate.js';

export const sessionIdParam = z.object({ id: z.string() });
export const batchParams = z.object({ id: z.string(), batchId: z.string().min(1).max(256) });
export const batchIdParam = z.object({ batchId: z.string().min(1).max(256) });

const sensitivity = z.enum(['public', 'internal', 'confidential', 'restricted']);

export const createSessionBody = z
  .object({
    sessionId: z.string().optional(),
    agentId: z.string().min(1).max(256),
    delegationChainSnapshot: z.array(z.string().max(256)).max(64).optional(),
    declaredIntent: z.string().max(4096).optional(),
    authorizedTools: z.array(z.string().min(1).max(256)).max(256),
    callBudget: z.number().int().min(0),
    rateLimitPerWindow: z.number().int().min(0).nullable().optional(),
    rateLimitWindowSecs: z.number().int().min(1).optional(),
    timeLimitMs: z.number().int().min(0),
    dataSensitivityCeiling: sensitivity.optional(),
  })
  .strict();

const mergeKey = z.union([
  z.string().min(1).max(256).transform((key) => ({ kind: 'group' as const, key })),
  z.object({ kind: z.literal('never') }).strict(),
  z.object({ kind: z.literal('group'), key: z.string().min(1).max(256) }).strict(),
]);

const item = z.union([
  z.object({ type: z.literal('text'), text: z.string() }).strict(),
  z.object({ type: z.literal('image_ref'), attachmentId: z.string().min(1).max(256) }).strict(),
]);

export const inputBody = z
  .object({
    /** One text item; or `items` for several items or images. */
    text: z.string().optional(),
    items: z.array(item).min(1).max(64).optional(),
    deliveryPolicy: z.enum(['earliest_safe_boundary', 'after_current_turn_commit']).optional(),
    slotPolicy: z.enum(['exclusive', 'join']).optional(),
    mergeKey: mergeKey.optional(),
    /** Store time (epoch ms) before which the input is not delivered; or `delayMs` from now. */
    availableAtMs: z.number().int().min(0).optional(),
    delayMs: z.number().int().min(0).max(30 * 24 * 3600 * 1000).optional(),
    agentId: z.string().min(1).max(256).optional(),
    sensitivity: sensitivity.optional(),
  })
  .strict()
  .refine((b) => (b.text === undefined) !== (b.items === undefined), { message: 'give exactly one of text or items', path: ['text'] })
  .refine((b) => b.availableAtMs === undefined || b.delayMs === undefined, { message: 'give at most one of availableAtMs or delayMs', path: ['delayMs'] });

export const commandBody = z
  .object({ kind: z.enum(['reset_session', 'refresh_tool_catalog']), reason: z.string().max(1024).default('') })
  .strict();

export const closeBody = z.object({ agentId: z.string().min(1).max(256).optional() }).strict();

export const listQuery = z
  .object({
    after: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    agentId: z.string().min(1).max(256).optional(),
  })
  .strict();

const pageLimit = z.coerce.number().int().min(1).max(100).optional();
/** `payloads=true` includes each batch's payloads; without it, their count and size only. */
const withPayloads = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1').optional();

/** A page of a session's queue: batches after enqueueSeq `after`, at most `limit` (1–100, default 50). */
export const queueQuery = z
  .object({ after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), limit: pageLimit, payloads: withPayloads })
  .strict();

/** A page of dead letters: after the cursor `after` (`<deadLetteredAtMs>-<enqueueSeq>`), at most `limit` (1–100, default 50). */
export const deadLetterQuery = z
  .object({ sessionId: z.string().optional(), after: z.string().max(40).optional(), limit: pageLimit, payloads: withPayloads })
  .strict();

export const eventsQuery = z.object({ afterRevision: z.coerce.number().int().min(0).optional() }).strict();

/** The `Idempotency-Key` header: the batch's source key. */
export const idempotencyKey = z.string().min(1).max(256);

/** The headers of an enqueue, for the OpenAPI document: the key is optional; a repeat returns the first batch. */
export const idempotencyHeaders = z.object({ 'idempotency-key': idempotencyKey.optional() });

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `an array of ${value.length} elements`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/**
 * Parses `input`, or throws InvalidInputError naming the first bad field. Strings must also be
 * storable (no U+0000, no unpaired surrogate): `?agentId=%00` reached Postgres and came back as a
 * 500 (found by test/fuzz/http.fuzz.test.ts).
 */
export function parse<T extends z.ZodTypeAny>(schema: T, input: unknown, where: string): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) {
    assertStorableText(result.data, where);
    return result.data;
  }
  const issue = result.error.issues[0]!;
  const field = [where, ...issue.path.map(String)].join('.');
  const issues = result.error.issues.map((i) => ({ field: [where, ...i.path.map(String)].join('.'), problem: i.message }));
  throw new InvalidInputError(`${field}: ${issue.message}, got ${describe(valueAt(input, issue.path))}`, { field, issues });
}
