import { expect } from 'vitest';
import { ToolNotAuthorizedError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of batch_validation_atomicity (seeds 000 and 001): one unauthorized tool consumes nothing.
conformance('taskSessionBatchWhitelistAtomicity', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ callBudget: 10, rateLimitPerWindow: 5 }));
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['read_file', 'delete_file', 'delete_file']), ToolNotAuthorizedError, 'TOOL_NOT_AUTHORIZED');
  expect(err.details.tools).toEqual(['delete_file']);
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(0);
  // Nor did the refused call count against the rate window.
  expect((await store.sessions.useTools(sessionId, ['read_file'])).windowRemaining).toBe(4);
});
