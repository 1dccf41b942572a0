import { expect } from 'vitest';
import { conformance } from './harness.js';
import { SessionClosedError } from '../../src/errors.js';
import { claimReadyForTest, expectTypedError } from './support.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Twin of cleanup_also_removes_closed (seed 001): closed records go too, with their queued work.
conformance(
  'taskSessionCleanupRemovesClosed',
  async (store) => {
    const { sessionId } = await store.sessions.create(taskRequest());
    const held = await store.queue.enqueue({ ...inputFor(sessionId, 'held by a turn'), sourceKey: 'k-held' });
    const claim = await claimReadyForTest(store, sessionId, 'worker', { maxBatches: 1 });
    expect(claim!.batches.map((b) => b.batchId)).toEqual([held.batchId]);

    await store.sessions.close(sessionId);
    // Close cancelled what was unclaimed; the held batch stays until cleanup.
    expect((await store.queue.list(sessionId)).map((b) => b.batchId)).toEqual([held.batchId]);
    expect(await store.sessions.cleanup()).toBe(0);

    store.clock.advance(1000);
    expect(await store.sessions.cleanup()).toBe(1);
    expect(await store.sessions.get(sessionId)).toBeNull();
    expect(await store.queue.list(sessionId)).toEqual([]);
    // The removed session stays closed (issue 13): even a source-key replay is refused, as the
    // enqueue rule runs first (taskSessionStaysEndedAfterCleanup).
    await expectTypedError(store.queue.enqueue({ ...inputFor(sessionId, 'again'), sourceKey: 'k-held' }), SessionClosedError, 'SESSION_CLOSED');
  },
  { taskSessionRetentionMs: 1000 },
);
