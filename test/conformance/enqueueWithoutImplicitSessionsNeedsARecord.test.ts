import { expect } from 'vitest';
import { SessionNotFoundError } from '../../src/errors.js';
import { leaseFence } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, minimalState, stateCommit } from './support.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Addition (spec 04 "The session record"): with implicitSessions false, a session needs a record.
conformance(
  'enqueueWithoutImplicitSessionsNeedsARecord',
  async (store) => {
    await expectTypedError(store.queue.enqueue(inputFor('never-created', 'hello')), SessionNotFoundError, 'SESSION_NOT_FOUND');
    expect(await store.queue.list('never-created')).toEqual([]);
    // The commit outbox follows the same rule.
    const lease = await claimLeaseForTest(store, 'never-created', 'worker');
    await expectTypedError(
      store.sessions.commit({ ...stateCommit('never-created', minimalState()), leaseFence: leaseFence(lease), enqueueBatches: [inputFor('never-created', 'follow-up')] }),
      SessionNotFoundError,
      'SESSION_NOT_FOUND',
    );
    expect(await store.sessions.load('never-created', { kind: 'full_graph' })).toBeNull();

    await store.sessions.create(taskRequest({ sessionId: 'created' }));
    expect((await store.queue.enqueue(inputFor('created', 'hello'))).status).toBe('queued');
  },
  { implicitSessions: false },
);
