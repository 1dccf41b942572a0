import { expect } from 'vitest';
import { conformance } from './harness.js';
import { taskRequest } from './task-session-support.js';

// Twin of empty_batch_succeeds (seed 001).
conformance('taskSessionEmptyBatchSucceeds', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 0, rateLimitPerWindow: 0 }));
  expect(await store.sessions.useTools(sessionId, [])).toEqual({ callsMade: 0, callBudget: 0, windowRemaining: 0 });
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(0);
});
