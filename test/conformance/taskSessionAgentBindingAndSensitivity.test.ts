import { expect } from 'vitest';
import { AgentMismatchError, SensitivityExceededError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of seed 000's requesting_agent_id check in use_session (no session fixation), plus the sensitivity ceiling.
conformance('taskSessionAgentBindingAndSensitivity', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ agentId: 'agent-a', dataSensitivityCeiling: 'internal' }));
  const err = await expectTypedError(store.sessions.useTools(sessionId, ['read_file'], { agentId: 'agent-b' }), AgentMismatchError, 'AGENT_MISMATCH');
  expect(err.details).toEqual({ sessionId, agentId: 'agent-b' });
  await expectTypedError(store.sessions.close(sessionId, { agentId: 'agent-b' }), AgentMismatchError, 'AGENT_MISMATCH');
  await expectTypedError(store.sessions.useTools(sessionId, ['read_file'], { sensitivity: 'confidential' }), SensitivityExceededError, 'SENSITIVITY_EXCEEDED');
  expect((await store.sessions.get(sessionId))!).toMatchObject({ callsMade: 0, status: 'active' });
  expect((await store.sessions.useTools(sessionId, ['read_file'], { agentId: 'agent-a', sensitivity: 'internal' })).callsMade).toBe(1);
});
