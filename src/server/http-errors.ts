/**
 * The one place where errors become HTTP answers: `{ error: { code, message, details } }` with
 * the status of spec 04 (404/403/409/410/429) plus 400 for invalid input and 503 when the store
 * cannot be reached. Matches on classes and codes, never on message text.
 */
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
  BATCH_HELD: 409,
  HEAD_REVISION_CONFLICT: 409,
  TURN_COMMIT_CONFLICT: 409,
  SESSION_EXPIRED: 410,
  BUDGET_EXCEEDED: 429,
  RATE_LIMITED: 429,
  TOO_MANY_SESSIONS: 429,
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
  if (err instanceof HttpError) return { status: err.status, body: errorBody(err.code, err.message, err.details) };
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
  if (fastify && typeof fastify.code === 'string' && typeof fastify.statusCode === 'number' && fastify.statusCode < 500) {
    const code =
      fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'PAYLOAD_TOO_LARGE'
        : fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : 'INVALID_INPUT';
    return { status: fastify.statusCode, body: errorBody(code, fastify.message ?? 'bad request') };
  }
  if (fastify && typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, body: errorBody('INVALID_INPUT', 'bad request') };
  }
  return { status: 500, body: errorBody('INTERNAL', 'internal error; the request id in the logs has the details') };
}

/** Fastify error handler: typed JSON, a log line for server-side failures only. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, retryAfterSeconds } = toHttpError(err);
  if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
  else if (status === 503) request.log.warn({ code: body.error.code }, 'store unavailable');
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  void reply.status(status).send(body);
}
