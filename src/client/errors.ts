/** What the turnlane HTTP API answers on failure, as typed errors carrying the API's codes. */

/**
 * The `error.code` values the API answers with (README, "HTTP API"). Match on these, never on
 * message text; a newer server may add codes, so the type stays open.
 */
export type ApiErrorCode =
  | 'INVALID_INPUT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'AGENT_MISMATCH'
  | 'TOOL_NOT_AUTHORIZED'
  | 'SENSITIVITY_EXCEEDED'
  | 'NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'BATCH_NOT_FOUND'
  | 'DEAD_LETTER_NOT_FOUND'
  | 'SESSION_CLOSED'
  | 'SESSION_ALREADY_EXISTS'
  | 'BATCH_HELD'
  | 'SESSION_EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'BUDGET_EXCEEDED'
  | 'RATE_LIMITED'
  | 'TOO_MANY_SESSIONS'
  | 'HEADERS_TOO_LARGE'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL'
  | (string & {});

/** An answer of the API outside 2xx, with its typed body `{ error: { code, message, details } }`. */
export class TurnlaneApiError extends Error {
  override readonly name = 'TurnlaneApiError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The API's stable code; `HTTP_<status>` when the body was not the API's error shape. */
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** The request's `X-Request-Id`: every server log line of the request carries it as `reqId`. */
    readonly requestId: string | null = null,
    /** From `Retry-After`, when the server sent one (429, 503). */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** The server could not be reached, or the request timed out, after every retry. */
export class TurnlaneNetworkError extends Error {
  override readonly name = 'TurnlaneNetworkError';
  readonly code = 'NETWORK';
}

/** Builds a TurnlaneApiError from a failed response. */
export async function apiErrorOf(response: Response): Promise<TurnlaneApiError> {
  const requestId = response.headers.get('x-request-id');
  const retryAfterMs = retryAfterOf(response);
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = body.error;
    if (error && typeof error.code === 'string') {
      const details = typeof error.details === 'object' && error.details !== null ? (error.details as Record<string, unknown>) : {};
      return new TurnlaneApiError(response.status, error.code, typeof error.message === 'string' ? error.message : error.code, details, requestId, retryAfterMs);
    }
  } catch {
    // Not JSON: a proxy's page, say. Fall through to the status.
  }
  return new TurnlaneApiError(response.status, `HTTP_${response.status}`, `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`, {}, requestId, retryAfterMs);
}

/** `Retry-After` in ms (seconds or an HTTP date), or null. */
export function retryAfterOf(response: Response): number | null {
  const header = response.headers.get('retry-after');
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
