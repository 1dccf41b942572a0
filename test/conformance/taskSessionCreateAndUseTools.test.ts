import { expect } from 'vitest';
import { conformance } from './harness.js';
import { taskRequest } from './task-session-support.js';

// Twin of create_and_use_session (seeds 000 and 001).
conformance('taskSessionCreateAndUseTools', async (store) => {
  const session = await store.sessions.create(taskRequest());
  expect(session.sessionId).toMatch(/^s_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  expect(session.callsMade).toBe(0);
  expect(session.status).toBe('active');
  expect(session.agentId).toBe('agent-1');
  expect(session.expiresAtMs).toBe(session.createdAtMs + session.timeLimitMs);
  expect(session.closedAtMs).toBeNull();

  const receipt = await store.sessions.useTools(session.sessionId, ['read_file']);
  expect(receipt).toEqual({ callsMade: 1, callBudget: 5, windowRemaining: null });
  // get returns the same data.
  const fetched = await store.sessions.get(session.sessionId);
  expect(fetched).toEqual({ ...session, callsMade: 1 });
});
