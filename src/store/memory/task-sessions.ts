/**
 * Task sessions in the reference model (spec/04-session-policy.md): creation, the all-or-nothing
 * tool-use decision, close, deactivation, cleanup, and the admission rule that enqueue and the
 * commit outbox apply. Each function is synchronous between validation and return, so every
 * decision is atomic, as the Postgres statements are.
 */
import { SessionAlreadyExistsError, TooManySessionsError } from '../../errors.js';
import type { NormalizedDraft } from '../validate.js';
import type {
  CreateTaskSessionRequest,
  TaskSession,
  TaskSessionFilter,
  ToolUseReceipt,
  UseToolsOptions,
} from '../policy-types.js';
import {
  MAX_TIME_LIMIT_MS,
  assertAgentId,
  assertMaxActive,
  normalizeTaskSessionRequest,
  parseCloseOptions,
  parseFilter,
  parseUseTools,
  sensitivityRank,
  unauthorizedTools,
} from '../policy-validate.js';
import { draftRefusal, refusalError, type PolicyRefusal } from '../policy-refusals.js';
import { assertSessionId } from '../validate.js';
import { batchRemove, sessionRows } from './queue.js';
import { copy, isBatchHeld, storeNow, type MemoryState, type TaskSessionRow } from './state.js';
import { assertTenantId, tenantOrDefault } from '../tenants.js';
import { sessionHasAcceptedInput } from './tenants.js';

/** The record as read: time limit capped at 24 h, `expiresAtMs` derived, an active session past it reported expired. */
function sessionView(row: TaskSessionRow, now: number): TaskSession {
  const timeLimitMs = Math.min(row.session.timeLimitMs, MAX_TIME_LIMIT_MS);
  const expiresAtMs = row.session.createdAtMs + timeLimitMs;
  const status = row.session.status === 'active' && now >= expiresAtMs ? 'expired' : row.session.status;
  return copy({ ...row.session, timeLimitMs, expiresAtMs, status });
}

/** Not found, agent, closed, expired: the checks every use of a session starts with. Reads only. */
function lifecycleRefusal(row: TaskSessionRow | undefined, agentId: string | null | undefined, now: number): PolicyRefusal | null {
  if (!row) return { kind: 'not_found' };
  if (agentId && agentId !== row.session.agentId) return { kind: 'agent_mismatch', agentId };
  const view = sessionView(row, now);
  if (view.status === 'closed') return { kind: 'closed' };
  if (view.status === 'expired') return { kind: 'expired', expiresAtMs: view.expiresAtMs };
  return null;
}

/**
 * Refused (SessionAlreadyExistsError) over a task session record, another tenant's session, or a
 * session with accepted input (a create must not take over a session its producer already uses).
 */
function insertRow(state: MemoryState, request: CreateTaskSessionRequest, tenantId: string, now: number): TaskSession {
  const r = normalizeTaskSessionRequest(request);
  const owner = state.sessionTenants.get(r.sessionId);
  if (state.taskSessions.has(r.sessionId) || (owner !== undefined && owner !== tenantId) || sessionHasAcceptedInput(state, r.sessionId)) {
    throw new SessionAlreadyExistsError(`task session ${r.sessionId} already exists`, { sessionId: r.sessionId });
  }
  state.sessionTenants.set(r.sessionId, tenantId);
  const row: TaskSessionRow = {
    session: { ...r, callsMade: 0, status: 'active', createdAtMs: now, closedAtMs: null },
    rateWindowStartMs: now,
    rateWindowCalls: 0,
  };
  state.taskSessions.set(r.sessionId, copy(row));
  return sessionView(row, now);
}

export function taskSessionCreate(state: MemoryState, request: CreateTaskSessionRequest): TaskSession {
  const tenantId = tenantOrDefault(request?.tenantId, 'request.tenantId');
  return insertRow(state, request, tenantId, storeNow(state));
}

/** Active sessions of the agent, counted against the cap before the insert (same step, so atomic). */
export function taskSessionCreateIfUnderCap(state: MemoryState, request: CreateTaskSessionRequest, maxActivePerAgent: number): TaskSession {
  assertMaxActive(maxActivePerAgent);
  const normalized = normalizeTaskSessionRequest(request);
  const tenantId = tenantOrDefault(request?.tenantId, 'request.tenantId');
  const now = storeNow(state);
  const current = countActive(state, normalized.agentId, tenantId, now);
  if (current >= maxActivePerAgent) {
    throw new TooManySessionsError(`agent ${normalized.agentId} has ${current} active sessions, the limit is ${maxActivePerAgent}`, {
      agentId: normalized.agentId,
      limit: maxActivePerAgent,
      current,
    });
  }
  return insertRow(state, normalized, tenantId, now);
}

export function taskSessionGet(state: MemoryState, sessionId: string): TaskSession | null {
  assertSessionId(sessionId);
  const row = state.taskSessions.get(sessionId);
  return row && row.removedAtMs === undefined ? sessionView(row, storeNow(state)) : null;
}

/** By creation time, then session id; filters apply to the status as read. */
export function taskSessionList(state: MemoryState, filter?: TaskSessionFilter): TaskSession[] {
  const f = parseFilter(filter);
  const now = storeNow(state);
  return [...state.taskSessions.values()]
    .filter((row) => row.removedAtMs === undefined)
    .map((row) => sessionView(row, now))
    .filter((s) => (f.agentId === null || s.agentId === f.agentId) && (f.status === null || s.status === f.status))
    .sort((a, b) => a.createdAtMs - b.createdAtMs || (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0))
    .slice(0, f.limit);
}

/** Active sessions of the agent; with a tenant, of that tenant's sessions only. */
function countActive(state: MemoryState, agentId: string, tenantId: string | null, now: number): number {
  let count = 0;
  for (const row of state.taskSessions.values()) {
    if (tenantId !== null && state.sessionTenants.get(row.session.sessionId) !== tenantId) continue;
    if (row.session.agentId === agentId && sessionView(row, now).status === 'active') count++;
  }
  return count;
}

export function taskSessionCountActiveForAgent(state: MemoryState, agentId: string, tenantId?: string): number {
  assertAgentId(agentId);
  if (tenantId !== undefined) assertTenantId(tenantId);
  return countActive(state, agentId, tenantId ?? null, storeNow(state));
}

/**
 * The all-or-nothing tool-use decision (checks in the order of docs/store-semantics.md). Only
 * an expiry found here writes anything when refusing: the status becomes 'expired'.
 */
export function taskSessionUseTools(state: MemoryState, sessionId: string, names: string[], options?: UseToolsOptions): ToolUseReceipt {
  const input = parseUseTools(sessionId, names, options);
  const now = storeNow(state);
  const row = state.taskSessions.get(sessionId);
  const lifecycle = lifecycleRefusal(row, input.options.agentId, now);
  if (lifecycle) {
    if (lifecycle.kind === 'expired') row!.session.status = 'expired';
    throw refusalError(sessionId, lifecycle);
  }
  const s = row!.session;
  const n = input.names.length;
  const denied = unauthorizedTools(input.names, s.authorizedTools);
  if (denied.length > 0) throw refusalError(sessionId, { kind: 'tool_not_authorized', tools: denied });
  const sensitivity = input.options.sensitivity;
  if (sensitivity && sensitivityRank(sensitivity) > sensitivityRank(s.dataSensitivityCeiling)) {
    throw refusalError(sessionId, { kind: 'sensitivity', sensitivity, ceiling: s.dataSensitivityCeiling });
  }
  if (s.callsMade + n > s.callBudget) throw refusalError(sessionId, { kind: 'budget', limit: s.callBudget, used: s.callsMade, requested: n });

  const windowMs = s.rateLimitWindowSecs * 1000;
  const windowPassed = now >= row!.rateWindowStartMs + windowMs;
  const windowCalls = windowPassed ? 0 : row!.rateWindowCalls;
  const limit = s.rateLimitPerWindow;
  if (limit !== null && windowCalls + n > limit) {
    const retryAfterMs = windowPassed ? windowMs : row!.rateWindowStartMs + windowMs - now;
    throw refusalError(sessionId, { kind: 'rate_limited', limit, windowSecs: s.rateLimitWindowSecs, requested: n, retryAfterMs });
  }
  if (n > 0) {
    s.callsMade += n;
    if (windowPassed) row!.rateWindowStartMs = now;
    row!.rateWindowCalls = windowCalls + n;
  }
  return { callsMade: s.callsMade, callBudget: s.callBudget, windowRemaining: limit === null ? null : limit - (windowCalls + n) };
}

/** Cancels the session's unclaimed batches, as queue.cancel would each one. */
function cancelUnclaimed(state: MemoryState, sessionId: string, now: number): void {
  for (const batchRow of sessionRows(state, sessionId)) {
    if (!isBatchHeld(batchRow, now)) batchRemove(state, batchRow, 'cancelled', now);
  }
}

function closeRow(state: MemoryState, row: TaskSessionRow, now: number): void {
  if (row.session.status !== 'closed') {
    row.session.status = 'closed';
    row.session.closedAtMs = now;
  }
  cancelUnclaimed(state, row.session.sessionId, now);
}

/** Closes (idempotent: a closed session keeps its closedAtMs) and cancels the unclaimed batches every time. */
export function taskSessionClose(state: MemoryState, sessionId: string, options?: { agentId?: string }): TaskSession {
  assertSessionId(sessionId);
  const { agentId } = parseCloseOptions(options);
  const now = storeNow(state);
  const row = state.taskSessions.get(sessionId);
  if (!row || row.removedAtMs !== undefined) throw refusalError(sessionId, { kind: 'not_found' });
  if (agentId && agentId !== row.session.agentId) throw refusalError(sessionId, { kind: 'agent_mismatch', agentId });
  closeRow(state, row, now);
  return sessionView(row, now);
}

/** Closes the agent's sessions that are active as read (not closed, not past their time limit). */
export function taskSessionCloseAllForAgent(state: MemoryState, agentId: string): number {
  assertAgentId(agentId);
  const now = storeNow(state);
  let closed = 0;
  for (const row of state.taskSessions.values()) {
    if (row.session.agentId !== agentId || sessionView(row, now).status !== 'active') continue;
    closeRow(state, row, now);
    closed++;
  }
  return closed;
}

/**
 * Removes records closed, or past their time limit, at least `taskSessionRetentionMs` ago, and
 * every queued batch of those sessions (held or not) as cancelled. Returns how many records. A
 * removed record stays as the proof that its id ended (status made durable, tools, chain and
 * intent emptied): get and list no longer show it, everything else keeps refusing it.
 */
export function taskSessionCleanup(state: MemoryState): number {
  const now = storeNow(state);
  let removed = 0;
  for (const [sessionId, row] of [...state.taskSessions]) {
    if (row.removedAtMs !== undefined) continue;
    const view = sessionView(row, now);
    const endedAtMs = view.status === 'closed' ? view.closedAtMs! : view.status === 'expired' ? view.expiresAtMs : null;
    if (endedAtMs === null || endedAtMs > now - state.policy.taskSessionRetentionMs) continue;
    row.removedAtMs = now;
    row.session = { ...row.session, status: view.status, authorizedTools: [], delegationChainSnapshot: [], declaredIntent: '' };
    for (const batchRow of sessionRows(state, sessionId)) batchRemove(state, batchRow, 'cancelled', now);
    removed++;
  }
  return removed;
}

/**
 * The enqueue rule, shared by queue.enqueue and the commit outbox: a session without a record
 * passes when implicit sessions are allowed; otherwise not found, agent, closed, expired and
 * sensitivity are checked in that order. Reads only; throws the typed error.
 */
export function taskSessionAdmitDraft(state: MemoryState, draft: NormalizedDraft, now: number): void {
  const row = state.taskSessions.get(draft.sessionId);
  const view = row ? sessionView(row, now) : null;
  const refusal = draftRefusal(view, draft, state.policy.implicitSessions);
  if (refusal) throw refusalError(draft.sessionId, refusal);
}

/**
 * The commit's task-session step (after the fence): a closed session is SessionClosedError, an
 * expired one SessionExpiredError; then each outbox draft passes the enqueue rule. Reads only.
 */
export function taskSessionAdmitCommit(state: MemoryState, sessionId: string, outbox: NormalizedDraft[], now: number): void {
  const row = state.taskSessions.get(sessionId);
  if (row) {
    const lifecycle = lifecycleRefusal(row, null, now);
    if (lifecycle) throw refusalError(sessionId, lifecycle);
  }
  for (const draft of outbox) taskSessionAdmitDraft(state, draft, now);
}
