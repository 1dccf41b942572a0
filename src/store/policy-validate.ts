/**
 * Validation and shared constants of task sessions (spec/04-session-policy.md), used by both
 * stores so they refuse exactly the same inputs. Every failure is an InvalidInputError naming the
 * field; nothing is read or written before validation passes.
 */
import { z } from 'zod';
import { InvalidInputError, describeValue } from '../errors.js';
import { newSessionId } from '../ids.js';
import type { CreateTaskSessionRequest, DataSensitivity, TaskSession, TaskSessionFilter, TaskSessionStatus, UseToolsOptions } from './policy-types.js';
import { assertId, assertSessionId, parseWith } from './validate.js';

/**
 * The longest time limit a session can have: 24 hours. `create` refuses more; every read and
 * every decision applies it again (least(stored, 24 h)), so a row edited behind the store's back
 * cannot extend a session (the arbiter seed's re-validation on reload).
 */
export const MAX_TIME_LIMIT_MS = 24 * 60 * 60 * 1000;

/** Sensitivities in increasing order; a declared sensitivity above the ceiling is refused. */
export const SENSITIVITIES: readonly DataSensitivity[] = ['public', 'internal', 'confidential', 'restricted'];

export function sensitivityRank(sensitivity: DataSensitivity): number {
  return SENSITIVITIES.indexOf(sensitivity);
}

/** Default retention of closed and expired task-session records before `cleanup` removes them: 24 h. */
export const DEFAULT_TASK_SESSION_RETENTION_MS = 24 * 60 * 60 * 1000;

const MAX_TOOLS = 1000;
const MAX_TOOL_NAME = 256;
const MAX_CHAIN = 100;
const MAX_CHAIN_ENTRY = 1024;
const MAX_INTENT = 4096;
/** Budgets and window counts are int4 columns. */
const MAX_COUNT = 2_147_483_647;
const MAX_WINDOW_SECS = 24 * 60 * 60;
const MAX_LIST_LIMIT = 1000;

const sensitivitySchema = z.enum(['public', 'internal', 'confidential', 'restricted']);
const toolName = z.string().min(1).max(MAX_TOOL_NAME);

const createSchema = z.object({
  sessionId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1–128 characters of [A-Za-z0-9._:-]').optional(),
  agentId: z.string().min(1).max(256),
  delegationChainSnapshot: z.array(z.string().max(MAX_CHAIN_ENTRY)).max(MAX_CHAIN).optional(),
  declaredIntent: z.string().max(MAX_INTENT).optional(),
  authorizedTools: z.array(toolName).max(MAX_TOOLS),
  callBudget: z.number().int().min(0).max(MAX_COUNT),
  rateLimitPerWindow: z.number().int().min(0).max(MAX_COUNT).nullable().optional(),
  rateLimitWindowSecs: z.number().int().min(1).max(MAX_WINDOW_SECS).optional(),
  timeLimitMs: z.number().int().min(0).max(MAX_TIME_LIMIT_MS),
  dataSensitivityCeiling: sensitivitySchema.optional(),
});

/** A create request after validation, with every default filled in and the session id chosen. */
export type NormalizedTaskSessionRequest = Omit<TaskSession, 'callsMade' | 'status' | 'createdAtMs' | 'expiresAtMs' | 'closedAtMs'>;

export function normalizeTaskSessionRequest(request: CreateTaskSessionRequest): NormalizedTaskSessionRequest {
  const parsed = parseWith(createSchema, request, 'request');
  return {
    sessionId: parsed.sessionId ?? newSessionId(),
    agentId: parsed.agentId,
    delegationChainSnapshot: parsed.delegationChainSnapshot ?? [],
    declaredIntent: parsed.declaredIntent ?? '',
    // Duplicates mean nothing in a whitelist; keep the first occurrence's order.
    authorizedTools: [...new Set(parsed.authorizedTools)],
    callBudget: parsed.callBudget,
    rateLimitPerWindow: parsed.rateLimitPerWindow ?? null,
    rateLimitWindowSecs: parsed.rateLimitWindowSecs ?? 60,
    timeLimitMs: parsed.timeLimitMs,
    dataSensitivityCeiling: parsed.dataSensitivityCeiling ?? 'internal',
  };
}

export function assertMaxActive(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw InvalidInputError.field('maxActivePerAgent', 'a non-negative integer', describeValue(value));
  }
}

/** Checks useTools arguments: a session id, up to 1,000 tool names, optional agent and sensitivity. */
export function parseUseTools(sessionId: unknown, names: unknown, options: unknown): { names: string[]; options: UseToolsOptions } {
  assertSessionId(sessionId);
  const parsedNames = parseWith(z.array(toolName).max(MAX_TOOLS), names, 'names');
  const parsedOptions = parseWith(
    z.object({ agentId: z.string().min(1).max(256).optional(), sensitivity: sensitivitySchema.optional() }).optional(),
    options,
    'options',
  );
  return { names: parsedNames, options: parsedOptions ?? {} };
}

export function assertAgentId(agentId: unknown, field = 'agentId'): asserts agentId is string {
  assertId(agentId, field);
}

export function parseCloseOptions(options: unknown): { agentId?: string } {
  return parseWith(z.object({ agentId: z.string().min(1).max(256).optional() }).optional(), options, 'options') ?? {};
}

export function parseFilter(filter: unknown): { agentId: string | null; status: TaskSessionStatus | null; limit: number } {
  const parsed = parseWith(
    z
      .object({
        agentId: z.string().min(1).max(256).optional(),
        status: z.enum(['active', 'closed', 'expired']).optional(),
        limit: z.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
      })
      .optional(),
    filter,
    'filter',
  );
  return { agentId: parsed?.agentId ?? null, status: parsed?.status ?? null, limit: parsed?.limit ?? 100 };
}

/** Distinct names outside the whitelist, in the order asked. */
export function unauthorizedTools(names: readonly string[], whitelist: readonly string[]): string[] {
  const allowed = new Set(whitelist);
  return [...new Set(names.filter((name) => !allowed.has(name)))];
}
