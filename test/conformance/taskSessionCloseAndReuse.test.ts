import { expect } from 'vitest';
import { SessionClosedError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of close_and_reuse (seeds 000 and 001); close is idempotent here (policy-types.ts), where the seed said AlreadyClosed.
conformance('taskSessionCloseAndReuse', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest());
  const closed = await store.sessions.close(sessionId);
  expect(closed.status).toBe('closed');
  expect(closed.closedAtMs).toBeGreaterThanOrEqual(closed.createdAtMs);
  await expectTypedError(store.sessions.useTools(sessionId, ['read_file']), SessionClosedError, 'SESSION_CLOSED');
  // An empty list still learns the session is closed: every use starts with the lifecycle checks.
  await expectTypedError(store.sessions.useTools(sessionId, []), SessionClosedError, 'SESSION_CLOSED');
  store.clock.advance(1000);
  const again = await store.sessions.close(sessionId);
  expect(again).toEqual(closed);
  expect((await store.sessions.get(sessionId))!.callsMade).toBe(0);
});
