import { expect } from 'vitest';
import { TooManySessionsError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { taskRequest } from './task-session-support.js';

// Twin of count_active_for_agent (seed 000), plus createIfUnderCap (seed 000's create_if_under_cap).
conformance('taskSessionCountActiveForAgent', async (store) => {
  for (let i = 0; i < 3; i++) await store.sessions.create(taskRequest({ agentId: 'agent-a' }));
  await store.sessions.create(taskRequest({ agentId: 'agent-b' }));
  expect(await store.sessions.countActiveForAgent('agent-a')).toBe(3);

  const err = await expectTypedError(store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-a' }), 3), TooManySessionsError, 'TOO_MANY_SESSIONS');
  expect(err.details).toMatchObject({ agentId: 'agent-a', limit: 3, current: 3 });
  const fourth = await store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-a' }), 4);
  expect(await store.sessions.countActiveForAgent('agent-a')).toBe(4);

  // Closed sessions no longer count.
  await store.sessions.close(fourth.sessionId);
  expect(await store.sessions.countActiveForAgent('agent-a')).toBe(3);

  // Concurrent capped creates of one agent: exactly the room left is granted.
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-c' }), 2)));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TooManySessionsError);
  expect(await store.sessions.countActiveForAgent('agent-c')).toBe(2);
});
