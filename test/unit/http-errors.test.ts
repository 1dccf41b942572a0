/** Every typed error of spec 02/04 maps to its HTTP status, with Retry-After where the spec asks for it. */
import { describe, expect, it } from 'vitest';
import {
  AgentMismatchError,
  BudgetExceededError,
  CommitOutcomeUnknownError,
  InvalidInputError,
  RateLimitedError,
  SessionAlreadyExistsError,
  SessionClosedError,
  SessionExpiredError,
  SessionNotFoundError,
  StoreUnavailableError,
  ToolNotAuthorizedError,
  TooManySessionsError,
} from '../../src/errors.js';
import { toHttpError } from '../../src/server/http-errors.js';

describe('HTTP error mapping', () => {
  it.each([
    [new InvalidInputError('x'), 400, undefined],
    [new SessionNotFoundError('x'), 404, undefined],
    [new AgentMismatchError('x'), 403, undefined],
    [new ToolNotAuthorizedError('x'), 403, undefined],
    [new SessionClosedError('x'), 409, undefined],
    [new SessionAlreadyExistsError('x'), 409, undefined],
    [new SessionExpiredError('x'), 410, undefined],
    [new BudgetExceededError('x', { limit: 3, used: 3 }), 429, undefined],
    [new TooManySessionsError('x', { limit: 2, current: 2 }), 429, undefined],
    [new RateLimitedError('x', { retryAfterMs: 2_500 }), 429, 3],
    [new StoreUnavailableError('x'), 503, 2],
    [new CommitOutcomeUnknownError('x'), 503, 2],
  ])('%s → %i', (err, status, retryAfter) => {
    const mapped = toHttpError(err);
    expect(mapped.status).toBe(status);
    expect(mapped.body.error.code).toBe(err.code);
    expect(mapped.retryAfterSeconds).toBe(retryAfter);
  });

  it('keeps internal errors opaque', () => {
    const mapped = toHttpError(new Error('secret detail'));
    expect(mapped.status).toBe(500);
    expect(JSON.stringify(mapped.body)).not.toContain('secret detail');
  });
});
