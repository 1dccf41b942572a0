import { expect } from 'vitest';
import { conformance } from './harness.js';
import { inputFor, taskRequest } from './task-session-support.js';

// Twin of cleanup_expired_sessions (seeds 000 and 001), with a retention period and the store clock.
conformance(
  'taskSessionCleanupRemovesExpired',
  async (store) => {
    const expired = await store.sessions.create(taskRequest({ timeLimitMs: 0 }));
    const valid = await store.sessions.create(taskRequest());
    // Work queued while the session was alive goes with the record.
    const queuedBefore = await store.queue.enqueue(inputFor(valid.sessionId, 'kept'));

    // Expired, but not yet for the retention period: kept.
    store.clock.advance(10);
    expect(await store.sessions.cleanup()).toBe(0);
    expect(await store.sessions.get(expired.sessionId)).not.toBeNull();

    store.clock.advance(60_000);
    expect(await store.sessions.cleanup()).toBe(1);
    expect(await store.sessions.get(expired.sessionId)).toBeNull();
    expect((await store.sessions.get(valid.sessionId))!.status).toBe('active');
    expect((await store.queue.list(valid.sessionId)).map((b) => b.batchId)).toEqual([queuedBefore.batchId]);
    // A second run removes nothing.
    expect(await store.sessions.cleanup()).toBe(0);
  },
  { taskSessionRetentionMs: 60_000 },
);
