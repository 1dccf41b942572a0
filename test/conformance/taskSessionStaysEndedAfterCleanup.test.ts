import { expect } from 'vitest';
import { SessionAlreadyExistsError, SessionClosedError, SessionExpiredError } from '../../src/errors.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, minimalState, stateCommit, underLease } from './support.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Issue 13 item 2: cleanup removed a closed or expired record, and its id became an implicit
// session: enqueue accepted and tools.use unlimited. A removed record reads as absent (get, list)
// but the id keeps refusing, for good: enqueue, tool use, commits and a new create.
conformance(
  'taskSessionStaysEndedAfterCleanup',
  async (store) => {
    const closed = await store.sessions.create(taskRequest({ sessionId: 'closed-one', callBudget: 1 }));
    const expired = await store.sessions.create(taskRequest({ sessionId: 'expired-one', timeLimitMs: 1000 }));
    await store.sessions.close(closed.sessionId);
    store.clock.advance(1000 + 60_000);
    expect(await store.sessions.cleanup()).toBe(2);
    expect(await store.sessions.cleanup()).toBe(0);
    expect(await store.sessions.get(closed.sessionId)).toBeNull();
    expect(await store.sessions.get(expired.sessionId)).toBeNull();
    expect((await store.sessions.list()).map((s) => s.sessionId)).toEqual([]);

    await expectTypedError(store.queue.enqueue(inputFor(closed.sessionId, 'after cleanup')), SessionClosedError, 'SESSION_CLOSED');
    await expectTypedError(store.queue.enqueue(inputFor(expired.sessionId, 'after cleanup')), SessionExpiredError, 'SESSION_EXPIRED');
    expect(await store.queue.list(closed.sessionId)).toEqual([]);
    await expectTypedError(store.sessions.useTools(closed.sessionId, ['read_file', 'read_file']), SessionClosedError, 'SESSION_CLOSED');
    await expectTypedError(store.sessions.useTools(expired.sessionId, ['read_file']), SessionExpiredError, 'SESSION_EXPIRED');
    await expectTypedError(store.sessions.create(taskRequest({ sessionId: closed.sessionId })), SessionAlreadyExistsError, 'SESSION_ALREADY_EXISTS');

    const lease = await claimLeaseForTest(store, closed.sessionId, 'worker');
    await expectTypedError(store.sessions.commit(underLease(stateCommit(closed.sessionId, minimalState()), lease)), SessionClosedError, 'SESSION_CLOSED');
  },
  { taskSessionRetentionMs: 60_000 },
);
