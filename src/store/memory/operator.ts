/**
 * Operator read views of the in-memory model (src/store/operator-types.ts), the twin of
 * src/store/postgres/operator.ts. Read-only; never returns a lease or claim token.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { SessionOverview, TaskSessionStatus, TurnCommitRecord } from '../contract.js';
import { assertSessionId } from '../validate.js';
import { assertAgentId } from '../policy-validate.js';
import { isBatchHeld, storeNow, type MemoryState } from './state.js';

/** What the operator views need of a task session record. */
interface TaskSessionSummary {
  sessionId: string;
  agentId: string;
  status: TaskSessionStatus;
  callsMade: number;
  callBudget: number;
}

/** 24 h: the cap spec 04 puts on a time limit as it is read back. */
const MAX_TIME_LIMIT_MS = 24 * 60 * 60 * 1000;

/** The task session records, a time-expired one read as expired before useTools marks it (as in Postgres). */
function taskMap(state: MemoryState, now: number): Map<string, TaskSessionSummary> {
  const tasks = new Map<string, TaskSessionSummary>();
  for (const { session } of state.taskSessions.values()) {
    const expired = session.status === 'active' && session.createdAtMs + Math.min(session.timeLimitMs, MAX_TIME_LIMIT_MS) <= now;
    tasks.set(session.sessionId, {
      sessionId: session.sessionId,
      agentId: session.agentId,
      status: expired ? 'expired' : session.status,
      callsMade: session.callsMade,
      callBudget: session.callBudget,
    });
  }
  return tasks;
}

function assertLimit(value: unknown, max: number, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw InvalidInputError.field(field, `an integer from 1 to ${max}`, describeValue(value));
  }
  return value;
}

function overview(state: MemoryState, sessionId: string, task: TaskSessionSummary | undefined, now: number): SessionOverview {
  const lease = state.leases.get(sessionId);
  let queueDepth = 0;
  let heldCount = 0;
  for (const row of state.batches.values()) {
    if (row.batch.sessionId !== sessionId) continue;
    queueDepth++;
    if (isBatchHeld(row, now)) heldCount++;
  }
  let deadLetterCount = 0;
  for (const row of state.deadLetters.values()) if (row.deadLetter.sessionId === sessionId) deadLetterCount++;
  let lastCommitAtMs: number | null = null;
  const prefix = `${sessionId}\u0000`;
  for (const [key, stamp] of state.turnStamps) {
    if (key.startsWith(prefix) && (lastCommitAtMs === null || stamp.committedAtMs > lastCommitAtMs)) lastCommitAtMs = stamp.committedAtMs;
  }
  return {
    sessionId,
    status: task?.status ?? 'implicit',
    agentId: task?.agentId ?? null,
    headRevision: state.sessions.get(sessionId)?.headRevision ?? 0,
    lastCommitAtMs,
    lease: lease
      ? { ownerId: lease.owner.ownerId, fencingToken: lease.fencingToken, expiresAtMs: lease.expiresAtMs, live: lease.leaseToken !== null && lease.expiresAtMs > now }
      : null,
    queueDepth,
    heldCount,
    deadLetterCount,
    callsMade: task?.callsMade ?? null,
    callBudget: task?.callBudget ?? null,
  };
}

/** Every session id any part of the model mentions. */
function knownSessionIds(state: MemoryState, tasks: Map<string, TaskSessionSummary>): Set<string> {
  const ids = new Set<string>([...state.sessions.keys(), ...state.leases.keys(), ...tasks.keys()]);
  for (const row of state.batches.values()) ids.add(row.batch.sessionId);
  for (const row of state.deadLetters.values()) ids.add(row.deadLetter.sessionId);
  return ids;
}

export function operatorListSessions(
  state: MemoryState,
  request: { afterSessionId?: string; limit?: number; agentId?: string } = {},
): SessionOverview[] {
  const limit = assertLimit(request.limit, 1000, 100, 'limit');
  const after = request.afterSessionId ?? '';
  if (after !== '') assertSessionId(after, 'afterSessionId');
  // The same rule as every other agent id (storable text: a NUL never reaches Postgres).
  if (request.agentId !== undefined) assertAgentId(request.agentId, 'agentId');
  const now = storeNow(state);
  const tasks = taskMap(state, now);
  const ids =
    request.agentId !== undefined
      ? [...tasks.values()].filter((t) => t.agentId === request.agentId).map((t) => t.sessionId)
      : [...knownSessionIds(state, tasks)];
  // Byte order, as Postgres compares these ids (the C collation and ASCII-only ids agree).
  return ids
    .filter((id) => id > after)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit)
    .map((id) => overview(state, id, tasks.get(id), now));
}

export function operatorGetSession(state: MemoryState, sessionId: string): SessionOverview | null {
  assertSessionId(sessionId);
  const now = storeNow(state);
  const tasks = taskMap(state, now);
  if (!knownSessionIds(state, tasks).has(sessionId)) return null;
  return overview(state, sessionId, tasks.get(sessionId), now);
}

export function operatorRecentCommits(state: MemoryState, sessionId: string, limit?: number): TurnCommitRecord[] {
  assertSessionId(sessionId);
  const n = assertLimit(limit, 200, 20, 'limit');
  const prefix = `${sessionId}\u0000`;
  const records: TurnCommitRecord[] = [];
  for (const [key, stamp] of state.turnStamps) {
    if (!key.startsWith(prefix)) continue;
    records.push({
      turnId: key.slice(prefix.length),
      headRevision: stamp.result.headRevision,
      committedAtMs: stamp.committedAtMs,
      enqueuedBatchCount: stamp.result.enqueuedBatches.length,
    });
  }
  return records.sort((a, b) => b.headRevision - a.headRevision || b.committedAtMs - a.committedAtMs).slice(0, n);
}
