import { expect } from 'vitest';
import { ToolNotAuthorizedError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of tool_whitelist_enforcement (seeds 000 and 001).
conformance('taskSessionToolWhitelistEnforcement', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest());
  await store.sessions.useTools(sessionId, ['read_file']);
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['delete_file']), ToolNotAuthorizedError, 'TOOL_NOT_AUTHORIZED');
  expect(err.details).toMatchObject({ sessionId, tools: ['delete_file'] });
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(1);
});
