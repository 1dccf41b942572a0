import { expect } from 'vitest';
import { conformance } from './harness.js';
import { taskRequest } from './task-session-support.js';

// Twin of no_rate_limit_when_unset (seed 001).
conformance('taskSessionNoRateLimitWhenUnset', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ rateLimitPerWindow: null, callBudget: 100 }));
  for (let i = 0; i < 10; i++) {
    expect((await store.sessions.useTools(sessionId, ['read_file'])).windowRemaining).toBeNull();
  }
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(10);
});
