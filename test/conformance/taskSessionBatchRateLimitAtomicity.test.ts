import { expect } from 'vitest';
import { RateLimitedError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of batch_rate_limit_enforcement (seeds 000 and 001): a batch over the window limit consumes nothing.
conformance('taskSessionBatchRateLimitAtomicity', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 100, rateLimitPerWindow: 3, authorizedTools: ['read_file'] }));
  await expectTypedError(store.sessions.useTools(sessionId, ['read_file', 'read_file', 'read_file', 'read_file']), RateLimitedError, 'RATE_LIMITED');
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(0);
  expect((await store.sessions.useTools(sessionId, ['read_file', 'read_file', 'read_file'])).windowRemaining).toBe(0);
  // A batch larger than the limit never fits, not even in a fresh window.
  store.clock.advance(60_000);
  await expectTypedError(store.sessions.useTools(sessionId, ['read_file', 'read_file', 'read_file', 'read_file']), RateLimitedError, 'RATE_LIMITED');
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(3);
});
