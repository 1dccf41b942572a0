/**
 * The one place where errors become HTTP answers: `{ error: { code, message, details } }` with
 * the status of spec 04 (404/403/409/410/429) plus 400 for invalid input, 413/415 for bodies,
 * 431 for oversized headers and 503 when the store cannot be reached. Matches on classes and
 * codes, never on message text.
 */
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { TurnlaneError } from '../errors.js';

const STATUS: Record<string, number> = {
  INVALID_INPUT: 400,
  SESSION_NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  DEAD_LETTER_NOT_FOUND: 404,
  NOT_FOUND: 404,
  AGENT_MISMATCH: 403,
  TOOL_NOT_AUTHORIZED: 403,
  SENSITIVITY_EXCEEDED: 403,
  SESSION_CLOSED: 409,
  SESSION_ALREADY_EXISTS: 409,
  API_KEY_EXISTS: 409,
  API_KEY_NOT_FOUND: 404,
  BATCH_HELD: 409,
  HEAD_REVISION_CONFLICT: 409,
  TURN_COMMIT_CONFLICT: 409,
  SESSION_EXPIRED: 410,
  IDEMPOTENCY_KEY_REUSED: 422,
  BUDGET_EXCEEDED: 429,
  RATE_LIMITED: 429,
  TOO_MANY_SESSIONS: 429,
  SESSION_QUEUE_FULL: 429,
  STORE_UNAVAILABLE: 503,
  COMMIT_OUTCOME_UNKNOWN: 503,
};

/** An error the HTTP layer raises itself (not found, held batch, auth). */
export class HttpError extends TurnlaneError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message, details);
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

/** Status, body and Retry-After (seconds) for any thrown value. */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; retryAfterSeconds?: number } {
  if (err instanceof HttpError) {
    const out: { status: number; body: ErrorBody; retryAfterSeconds?: number } = { status: err.status, body: errorBody(err.code, err.message, err.details) };
    const ms = Number(err.details.retryAfterMs);
    if (err.status === 429 && Number.isFinite(ms) && ms > 0) out.retryAfterSeconds = Math.ceil(ms / 1000);
    return out;
  }
  if (err instanceof TurnlaneError) {
    const status = STATUS[err.code] ?? 409;
    const out: { status: number; body: ErrorBody; retryAfterSeconds?: number } = { status, body: errorBody(err.code, err.message, err.details) };
    if (err.code === 'RATE_LIMITED') {
      const ms = Number(err.details.retryAfterMs);
      out.retryAfterSeconds = Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 1;
    } else if (status === 503) {
      // A Postgres failover takes seconds; 2 s keeps clients from hammering a recovering database.
      out.retryAfterSeconds = 2;
    }
    return out;
  }
  const fastify = err as Partial<FastifyError> | null;
  const known = fastify && typeof fastify.code === 'string' ? FASTIFY_ERRORS[fastify.code] : undefined;
  if (known) return { status: known.status, body: errorBody(known.code, known.message ?? fastify?.message ?? 'bad request') };
  // Any other refusal of Fastify's or a plugin's (empty or malformed JSON body, bad Content-Length,
  // a static file path with `..`): the code that goes with its status, else invalid input.
  if (fastify && typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const message = typeof fastify.code === 'string' ? (fastify.message ?? 'bad request') : 'bad request';
    const code = CODE_OF_STATUS[fastify.statusCode];
    return code ? { status: fastify.statusCode, body: errorBody(code, message) } : { status: 400, body: errorBody('INVALID_INPUT', message) };
  }
  return { status: 500, body: errorBody('INTERNAL', 'internal error; the request id in the logs has the details') };
}

/**
 * Fastify's own refusals with a status and code of their own. The two router errors reach us
 * through `frameworkErrors` (app.ts); their default answers were untyped, a 414 for a long id,
 * and echoed the whole path (found by test/fuzz/http.fuzz.test.ts).
 */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_BAD_URL: { status: 400, code: 'INVALID_INPUT', message: 'path: expected a URL with valid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, code: 'INVALID_INPUT', message: 'path: expected ids of at most 300 characters' },
  // @fastify/csrf-protection: a write under /admin without the page's token (security.ts).
  FST_CSRF_MISSING_SECRET: { status: 403, code: 'CSRF', message: 'the form is stale: reload the page and try again' },
  FST_CSRF_INVALID_TOKEN: { status: 403, code: 'CSRF', message: 'the form is stale: reload the page and try again' },
};

const CODE_OF_STATUS: Record<number, string> = { 400: 'INVALID_INPUT', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };

/**
 * Node's HTTP parser refused the request (malformed, headers over 16 kB, too slow) before Fastify
 * saw it: Fastify's default answer is untyped JSON. Written to the socket by hand, as Fastify does,
 * and the connection closed (the parser cannot find the next request).
 */
export function handleClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', errorBody('HEADERS_TOO_LARGE', 'headers: expected at most 16 kB of request line and headers')]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', errorBody('REQUEST_TIMEOUT', 'the request did not arrive in time')]
        : [400, 'Bad Request', errorBody('INVALID_INPUT', 'not a well-formed HTTP/1.1 request')];
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy();
}

/** Fastify error handler: typed JSON, a log line for server-side failures only. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, retryAfterSeconds } = toHttpError(err);
  if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
  else if (status === 503) request.log.warn({ code: body.error.code }, 'store unavailable');
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  void reply.status(status).send(body);
}
