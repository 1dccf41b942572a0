import { expect } from 'vitest';
import { conformance } from './harness.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Twin of deactivation_closes_agent_sessions (seed 001), plus the closed sessions' queued work.
conformance('taskSessionDeactivationClosesOnlyThatAgent', async (store) => {
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) mine.push((await store.sessions.create(taskRequest({ agentId: 'agent-a' }))).sessionId);
  const other = await store.sessions.create(taskRequest({ agentId: 'agent-b' }));
  await store.queue.enqueue(inputFor(mine[0]!, 'pending'));
  const otherWork = await store.queue.enqueue(inputFor(other.sessionId, 'keeps going'));

  expect(await store.sessions.closeAllForAgent('agent-a')).toBe(3);
  for (const s of await store.sessions.list({ agentId: 'agent-a' })) expect(s.status).toBe('closed');
  expect((await store.sessions.get(other.sessionId))!.status).toBe('active');
  expect(await store.queue.list(mine[0]!)).toEqual([]);
  expect((await store.queue.list(other.sessionId)).map((b) => b.batchId)).toEqual([otherWork.batchId]);
  // Nothing is left to close.
  expect(await store.sessions.closeAllForAgent('agent-a')).toBe(0);
  expect(await store.sessions.list({ status: 'closed' })).toHaveLength(3);
  expect((await store.sessions.list({ status: 'active' })).map((s) => s.sessionId)).toEqual([other.sessionId]);
});
