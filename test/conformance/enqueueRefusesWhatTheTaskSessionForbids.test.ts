import { expect } from 'vitest';
import { AgentMismatchError, SensitivityExceededError, SessionClosedError, SessionExpiredError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { expectTypedError } from './support.js';
import { HOUR_MS, inputFor, taskRequest } from './task-session-support.js';

// Addition (spec 04 "Rules"): enqueue refuses, with the typed error and nothing written, a draft for a
// closed or expired session, from another agent, or above the sensitivity ceiling.
conformance('enqueueRefusesWhatTheTaskSessionForbids', async (store) => {
  const { sessionId } = await store.sessions.create(taskRequest({ agentId: 'agent-a', dataSensitivityCeiling: 'confidential' }));
  const ok = await store.queue.enqueue(inputFor(sessionId, 'mine', { agentId: 'agent-a', sensitivity: 'confidential' }));
  expect(ok.status).toBe('queued');
  // The agent and sensitivity are not stored with the batch.
  expect(ok).not.toHaveProperty('agentId');
  expect(ok).not.toHaveProperty('sensitivity');
  await store.queue.enqueue(inputFor(sessionId, 'no agent stated'));

  await expectTypedError(store.queue.enqueue(inputFor(sessionId, 'fixation', { agentId: 'agent-b' })), AgentMismatchError, 'AGENT_MISMATCH');
  const tooHigh = await expectTypedError(
    store.queue.enqueue(inputFor(sessionId, 'secret', { sensitivity: 'restricted', sourceKey: 'k-secret' })),
    SensitivityExceededError,
    'SENSITIVITY_EXCEEDED',
  );
  expect(tooHigh.details).toMatchObject({ sensitivity: 'restricted', ceiling: 'confidential' });
  expect(await store.queue.list(sessionId)).toHaveLength(2);
  // The refused source key was not taken: a later admitted draft with it is a new batch.
  expect((await store.queue.enqueue(inputFor(sessionId, 'fine now', { sourceKey: 'k-secret' }))).status).toBe('queued');

  // Expired: refused (and not marked: only useTools marks expiry).
  const short = await store.sessions.create(taskRequest({ agentId: 'agent-a', timeLimitMs: 1000 }));
  store.clock.advance(1000);
  await expectTypedError(store.queue.enqueue(inputFor(short.sessionId, 'late')), SessionExpiredError, 'SESSION_EXPIRED');
  expect(await store.queue.list(short.sessionId)).toEqual([]);

  // Closed: refused, source-key replays included.
  await store.sessions.close(sessionId);
  await expectTypedError(store.queue.enqueue(inputFor(sessionId, 'after close')), SessionClosedError, 'SESSION_CLOSED');
  await expectTypedError(store.queue.enqueue(inputFor(sessionId, 'replay', { sourceKey: 'k-secret' })), SessionClosedError, 'SESSION_CLOSED');
  expect(await store.queue.list(sessionId)).toEqual([]);
  // A closed session's agent check still comes first.
  await expectTypedError(store.queue.enqueue(inputFor(sessionId, 'x', { agentId: 'agent-b' })), AgentMismatchError, 'AGENT_MISMATCH');
  store.clock.advance(HOUR_MS);
});
