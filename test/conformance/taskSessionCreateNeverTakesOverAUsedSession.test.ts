import { expect } from 'vitest';
import { SessionAlreadyExistsError, TooManySessionsError } from '../../src/errors.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, commitForTest, expectTypedError, minimalState, stateCommit } from './support.js';
import { taskRequest } from './task-session-support.js';

// Issue 14: creating a task session over a session of another tenant, or over one with accepted
// input (it took over an implicit session's queue with callBudget 0 and cancelled it), is refused;
// and the per-agent cap counts the creating tenant's sessions only.
conformance('taskSessionCreateNeverTakesOverAUsedSession', async (store) => {
  const queued = await store.queue.enqueue({ ...turnInputDraft('implicit', 'my input', 'after_current_turn_commit', 'exclusive'), tenantId: 'victim' });
  for (const tenantId of ['attacker', 'victim']) {
    const err = await expectTypedError(
      store.sessions.create(taskRequest({ sessionId: 'implicit', tenantId, callBudget: 0, timeLimitMs: 1000 })),
      SessionAlreadyExistsError,
      'SESSION_ALREADY_EXISTS',
    );
    expect(err.details).toEqual({ sessionId: 'implicit' });
  }
  expect(await store.sessions.get('implicit')).toBeNull();
  expect(batchIds(await store.queue.list('implicit'))).toEqual([queued.batchId]);
  expect(await store.sessions.tenantOf('implicit')).toBe('victim');

  // A committed session is used too, even with its queue empty.
  await commitForTest(store, stateCommit('committed', minimalState()), 'worker');
  await expectTypedError(store.sessions.create(taskRequest({ sessionId: 'committed' })), SessionAlreadyExistsError, 'SESSION_ALREADY_EXISTS');

  // A fresh id: the creator owns it; another tenant can neither create over it nor enqueue to it.
  const created = await store.sessions.create(taskRequest({ sessionId: 'fresh', tenantId: 'victim' }));
  expect(created.sessionId).toBe('fresh');
  expect(await store.sessions.tenantOf('fresh')).toBe('victim');
  await expectTypedError(store.sessions.createIfUnderCap(taskRequest({ sessionId: 'fresh', tenantId: 'attacker' }), 10), SessionAlreadyExistsError, 'SESSION_ALREADY_EXISTS');
  await expect(store.queue.enqueue({ ...turnInputDraft('fresh', 'x', 'after_current_turn_commit', 'exclusive'), tenantId: 'attacker', agentId: 'agent-1' })).rejects.toMatchObject({
    code: 'SESSION_NOT_FOUND',
  });

  // The per-agent cap is per tenant: another tenant filling "agent-1" leaves the victim's room alone.
  for (let i = 0; i < 3; i++) await store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-1', tenantId: 'attacker' }), 3);
  await expectTypedError(store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-1', tenantId: 'attacker' }), 3), TooManySessionsError, 'TOO_MANY_SESSIONS');
  expect(await store.sessions.countActiveForAgent('agent-1', 'attacker')).toBe(3);
  expect(await store.sessions.countActiveForAgent('agent-1', 'victim')).toBe(1);
  expect(await store.sessions.countActiveForAgent('agent-1')).toBe(4);
  await store.sessions.createIfUnderCap(taskRequest({ agentId: 'agent-1', tenantId: 'victim' }), 3);
  expect(await store.sessions.countActiveForAgent('agent-1', 'victim')).toBe(2);
});
