/**
 * Every error turnlane throws on purpose. Each has a stable `code`; callers match on the
 * class or the code, never on message text. Low-level errors (SQLSTATE, socket errors) are
 * mapped into these in one place per backend (src/store/postgres/errors.ts).
 */

export type TurnlaneErrorCode =
  | 'SESSION_LEASE_EXPIRED'
  | 'QUEUED_WORK_CLAIM_EXPIRED'
  | 'TURN_COMMIT_CONFLICT'
  | 'HEAD_REVISION_CONFLICT'
  | 'SESSION_BINDING_MISMATCH'
  | 'INVALID_INPUT'
  | 'STORE_UNAVAILABLE'
  | 'COMMIT_OUTCOME_UNKNOWN'
  | 'ATTACHMENT_NOT_FOUND'
  | 'ATTACHMENT_ID_MISMATCH'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_ALREADY_EXISTS'
  | 'AGENT_MISMATCH'
  | 'SESSION_CLOSED'
  | 'SESSION_EXPIRED'
  | 'TOOL_NOT_AUTHORIZED'
  | 'BUDGET_EXCEEDED'
  | 'RATE_LIMITED'
  | 'TOO_MANY_SESSIONS'
  | 'SENSITIVITY_EXCEEDED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'NON_RETRYABLE'
  | 'DURABILITY_MISMATCH'
  | 'API_KEY_EXISTS'
  | 'API_KEY_NOT_FOUND';

export abstract class TurnlaneError extends Error {
  abstract readonly code: TurnlaneErrorCode | string;
  /** True when the same call may succeed if simply tried again. */
  readonly retryable: boolean = false;
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** A fence check failed: missing, foreign, stale or expired lease; or renewing a lease that is not live. */
export class SessionLeaseExpiredError extends TurnlaneError {
  readonly code = 'SESSION_LEASE_EXPIRED';
}

/** A claim no longer owns every one of its batches, or (renewal only) it has expired. */
export class QueuedWorkClaimExpiredError extends TurnlaneError {
  readonly code = 'QUEUED_WORK_CLAIM_EXPIRED';
}

/** The turn id was committed with a different hash, or the stamp names another session. */
export class TurnCommitConflictError extends TurnlaneError {
  readonly code = 'TURN_COMMIT_CONFLICT';
}

/** The CAS expectation does not match the head revision, or a concurrent commit won the head write. */
export class HeadRevisionConflictError extends TurnlaneError {
  readonly code = 'HEAD_REVISION_CONFLICT';
  override readonly retryable = true;
}

/** The commit's fence or an outbox draft names another session than `commit.sessionId`. */
export class SessionBindingMismatchError extends TurnlaneError {
  readonly code = 'SESSION_BINDING_MISMATCH';
}

/** A draft, id or option failed validation. The message names the field, what was expected and what came. */
export class InvalidInputError extends TurnlaneError {
  readonly code = 'INVALID_INPUT';

  static field(field: string, expected: string, got: string): InvalidInputError {
    return new InvalidInputError(`${field}: expected ${expected}, got ${got}`, { field, expected, got });
  }
}

/** The database cannot be reached. */
export class StoreUnavailableError extends TurnlaneError {
  readonly code = 'STORE_UNAVAILABLE';
  override readonly retryable = true;
}

/** The connection dropped while COMMIT was in flight: retry the same stamped commit to learn the outcome. */
export class CommitOutcomeUnknownError extends TurnlaneError {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN';
  override readonly retryable = true;
}

/** An attachment id that no content store holds. */
export class AttachmentNotFoundError extends TurnlaneError {
  readonly code = 'ATTACHMENT_NOT_FOUND';
}

// --- Task session policy (spec/04-session-policy.md). HTTP mapping in src/server.

/** No task session with this id (or an enqueue to an unknown session without implicit sessions). HTTP 404. */
export class SessionNotFoundError extends TurnlaneError {
  readonly code = 'SESSION_NOT_FOUND';
}

/** Creating a session id that exists: a task session record, accepted input, or another tenant's session. HTTP 409. */
export class SessionAlreadyExistsError extends TurnlaneError {
  readonly code = 'SESSION_ALREADY_EXISTS';
}

/** The stated agent is not the session's agent (no session fixation). HTTP 403. */
export class AgentMismatchError extends TurnlaneError {
  readonly code = 'AGENT_MISMATCH';
}

/** The session is closed. HTTP 409. */
export class SessionClosedError extends TurnlaneError {
  readonly code = 'SESSION_CLOSED';
}

/** The session's time limit has passed. HTTP 410. */
export class SessionExpiredError extends TurnlaneError {
  readonly code = 'SESSION_EXPIRED';
}

/** A tool outside the session's whitelist. HTTP 403. */
export class ToolNotAuthorizedError extends TurnlaneError {
  readonly code = 'TOOL_NOT_AUTHORIZED';
}

/** The call budget would be exceeded; details carry `limit` and `used`. HTTP 429. */
export class BudgetExceededError extends TurnlaneError {
  readonly code = 'BUDGET_EXCEEDED';
}

/** The rate window is full; details carry `retryAfterMs`. HTTP 429 with Retry-After. */
export class RateLimitedError extends TurnlaneError {
  readonly code = 'RATE_LIMITED';
  override readonly retryable = true;
}

/** The agent already has its maximum of active sessions; details carry `limit` and `current`. HTTP 429. */
export class TooManySessionsError extends TurnlaneError {
  readonly code = 'TOO_MANY_SESSIONS';
}

/** The session already has its maximum of queued batches; details carry `limit` and `queued`. HTTP 429. */
export class QueueFullError extends TurnlaneError {
  readonly code = 'SESSION_QUEUE_FULL';
}

/** An input or tool declares a sensitivity above the session's ceiling. HTTP 403. */
export class SensitivityExceededError extends TurnlaneError {
  readonly code = 'SENSITIVITY_EXCEEDED';
}

/**
 * A source key (an HTTP Idempotency-Key) came back with another request than the one first
 * accepted under it: both drafts named a `requestHash`, and they differ. HTTP 422.
 */
export class IdempotencyKeyReusedError extends TurnlaneError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
}

/**
 * Thrown by a turn handler: the turn cannot succeed however often it runs again (BullMQ's
 * UnrecoverableError, Temporal's non-retryable failure). Its batches are dead-lettered at once,
 * with `NonRetryableError: <message>` as the reason, instead of after `maxAttempts` runs.
 * Policy refusals that no retry can change (BudgetExceededError, ToolNotAuthorizedError,
 * SensitivityExceededError, AgentMismatchError) end a turn the same way
 * (src/runtime/turn-failure.ts).
 */
export class NonRetryableError extends TurnlaneError {
  readonly code = 'NON_RETRYABLE';
}

/** A worker was given stores of different durability (a durable store, attachments kept in memory). */
export class DurabilityMismatchError extends TurnlaneError {
  readonly code = 'DURABILITY_MISMATCH';
}

/** Revoking an API key id that does not exist. HTTP 404. */
export class ApiKeyNotFoundError extends TurnlaneError {
  readonly code = 'API_KEY_NOT_FOUND';
}

/** Creating an API key whose key id or digest is taken. HTTP 409. */
export class ApiKeyExistsError extends TurnlaneError {
  readonly code = 'API_KEY_EXISTS';
}

/** Describes a received value for an error message without echoing payload text. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : `${value}`;
  if (Array.isArray(value)) return `an array of ${value.length} elements`;
  return `a ${typeof value}`;
}
