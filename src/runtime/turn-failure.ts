/**
 * Which handler failures no retry can cure (issue 13 item 7): the turn's batches are then
 * dead-lettered at its first failure, with the error as the reason, instead of running the
 * handler `maxAttempts` times (docs/store-semantics.md, "Task sessions", "The worker").
 */

/**
 * Codes of errors that fail the same way on every retry: the handler's own `NonRetryableError`,
 * and the task-session refusals whose cause a retry cannot change (the budget is never refilled,
 * the whitelist, the ceiling and the agent are fixed at creation). `RATE_LIMITED` is not here:
 * the next window admits the call.
 */
const NON_RETRYABLE_CODES: ReadonlySet<string> = new Set(['NON_RETRYABLE', 'BUDGET_EXCEEDED', 'TOOL_NOT_AUTHORIZED', 'SENSITIVITY_EXCEEDED', 'AGENT_MISMATCH']);

/**
 * True when a turn that failed with `err` cannot succeed if run again. Matched on the stable
 * `code`, not the class, so an error that crossed from a sandbox process (which keeps its name
 * and code, src/runtime/sandbox/pool.ts) counts too.
 */
export function isNonRetryable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && NON_RETRYABLE_CODES.has(code);
}

/** The attempts after which the failed turn's batches are dead-lettered: at once for a non-retryable failure. */
export function attemptsAllowed(err: unknown, maxAttempts: number): number {
  return isNonRetryable(err) ? 1 : maxAttempts;
}
