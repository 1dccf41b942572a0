import { expect } from 'vitest';
import { SessionAlreadyExistsError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of duplicate_session_start_is_typed (seed 003).
conformance('duplicateSessionCreateIsTyped', async (store) => {
  const first = await store.sessions.create(taskRequest({ sessionId: 'only-once', agentId: 'agent-a' }));
  const err = await expectTypedError(store.sessions.create(taskRequest({ sessionId: 'only-once', agentId: 'agent-b' })), SessionAlreadyExistsError, 'SESSION_ALREADY_EXISTS');
  expect(err.details).toEqual({ sessionId: 'only-once' });
  await expectTypedError(store.sessions.createIfUnderCap(taskRequest({ sessionId: 'only-once' }), 10), SessionAlreadyExistsError, 'SESSION_ALREADY_EXISTS');
  expect(await store.sessions.get('only-once')).toEqual(first);
});
