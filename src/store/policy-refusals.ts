/**
 * The typed errors of task-session refusals, built in one place so both stores throw the same
 * class, code, message and details for the same decision. The decision itself is made by each
 * store (in SQL for Postgres, in the reference model for memory); this only names it.
 */
import {
  AgentMismatchError,
  BudgetExceededError,
  RateLimitedError,
  SensitivityExceededError,
  SessionClosedError,
  SessionExpiredError,
  SessionNotFoundError,
  ToolNotAuthorizedError,
  type TurnlaneError,
} from '../errors.js';
import type { DataSensitivity, TaskSessionStatus } from './policy-types.js';
import { sensitivityRank } from './policy-validate.js';

/** Why a task session refused a call, in the order the checks run (docs/store-semantics.md). */
export type PolicyRefusal =
  | { kind: 'not_found' }
  | { kind: 'agent_mismatch'; agentId: string }
  | { kind: 'closed' }
  | { kind: 'expired'; expiresAtMs: number }
  | { kind: 'tool_not_authorized'; tools: string[] }
  | { kind: 'sensitivity'; sensitivity: DataSensitivity; ceiling: DataSensitivity }
  | { kind: 'budget'; limit: number; used: number; requested: number }
  | { kind: 'rate_limited'; limit: number; windowSecs: number; requested: number; retryAfterMs: number };

export function refusalError(sessionId: string, refusal: PolicyRefusal): TurnlaneError {
  switch (refusal.kind) {
    case 'not_found':
      return new SessionNotFoundError(`no task session ${sessionId}`, { sessionId });
    case 'agent_mismatch':
      // The session's own agent is not named: a caller guessing session ids learns nothing.
      return new AgentMismatchError(`agent ${refusal.agentId} is not the agent of session ${sessionId}`, { sessionId, agentId: refusal.agentId });
    case 'closed':
      return new SessionClosedError(`session ${sessionId} is closed`, { sessionId });
    case 'expired':
      return new SessionExpiredError(`session ${sessionId} expired at ${refusal.expiresAtMs}`, { sessionId, expiresAtMs: refusal.expiresAtMs });
    case 'tool_not_authorized':
      return new ToolNotAuthorizedError(`session ${sessionId} is not authorized to use ${refusal.tools.join(', ')}`, { sessionId, tools: refusal.tools });
    case 'sensitivity':
      return new SensitivityExceededError(`sensitivity ${refusal.sensitivity} is above the ceiling ${refusal.ceiling} of session ${sessionId}`, {
        sessionId,
        sensitivity: refusal.sensitivity,
        ceiling: refusal.ceiling,
      });
    case 'budget':
      return new BudgetExceededError(
        `session ${sessionId} has used ${refusal.used} of its ${refusal.limit} tool calls; ${refusal.requested} more would exceed the budget`,
        { sessionId, limit: refusal.limit, used: refusal.used, requested: refusal.requested },
      );
    case 'rate_limited':
      return new RateLimitedError(
        `session ${sessionId} allows ${refusal.limit} tool calls per ${refusal.windowSecs} s; retry after ${refusal.retryAfterMs} ms`,
        { sessionId, limit: refusal.limit, windowSecs: refusal.windowSecs, requested: refusal.requested, retryAfterMs: refusal.retryAfterMs },
      );
  }
}

/** What the enqueue rule needs of a task-session record, as read (status past the time limit is 'expired'). */
export interface PolicySnapshot {
  agentId: string;
  status: TaskSessionStatus;
  expiresAtMs: number;
  dataSensitivityCeiling: DataSensitivity;
}

/**
 * The enqueue rule (queue.enqueue and the commit outbox): no record passes when implicit sessions
 * are allowed, else not found; then agent, closed, expired, sensitivity, in that order. Null: admitted.
 */
export function draftRefusal(
  snapshot: PolicySnapshot | null,
  draft: { agentId: string | null; sensitivity: DataSensitivity | null },
  implicitSessions: boolean,
): PolicyRefusal | null {
  if (!snapshot) return implicitSessions ? null : { kind: 'not_found' };
  if (draft.agentId !== null && draft.agentId !== snapshot.agentId) return { kind: 'agent_mismatch', agentId: draft.agentId };
  if (snapshot.status === 'closed') return { kind: 'closed' };
  if (snapshot.status === 'expired') return { kind: 'expired', expiresAtMs: snapshot.expiresAtMs };
  if (draft.sensitivity !== null && sensitivityRank(draft.sensitivity) > sensitivityRank(snapshot.dataSensitivityCeiling)) {
    return { kind: 'sensitivity', sensitivity: draft.sensitivity, ceiling: snapshot.dataSensitivityCeiling };
  }
  return null;
}
