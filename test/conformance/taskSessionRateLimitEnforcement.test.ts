import { expect } from 'vitest';
import { RateLimitedError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of rate_limit_enforcement (seed 001), plus the window restarting once it has passed.
conformance('taskSessionRateLimitEnforcement', async (store) => {
  const session = await store.sessions.create(taskRequest({ rateLimitPerWindow: 3, callBudget: 100 }));
  const { sessionId } = session;
  expect((await store.sessions.useTools(sessionId, ['read_file'])).windowRemaining).toBe(2);
  await store.sessions.useTools(sessionId, ['read_file']);
  expect((await store.sessions.useTools(sessionId, ['read_file'])).windowRemaining).toBe(0);

  store.clock.advance(20_000);
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['read_file']), RateLimitedError, 'RATE_LIMITED');
  expect(err.retryable).toBe(true);
  expect(err.details).toMatchObject({ sessionId, limit: 3, windowSecs: 60, requested: 1 });
  // The window started at creation and lasts 60 s: about 40 s are left.
  const retryAfterMs = err.details.retryAfterMs as number;
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(retryAfterMs).toBeLessThanOrEqual(40_000);
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(3);

  // Once the window has passed it restarts: three more calls fit.
  store.clock.advance(retryAfterMs);
  const receipt = await store.sessions.useTools(sessionId, ['read_file', 'list_dir']);
  expect(receipt).toEqual({ callsMade: 5, callBudget: 100, windowRemaining: 1 });
  await store.sessions.useTools(sessionId, ['read_file']);
  await expectTypedError(store.sessions.useTools(sessionId, ['read_file']), RateLimitedError, 'RATE_LIMITED');
});
