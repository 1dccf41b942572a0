import { expect } from 'vitest';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';

// Issue 14: a caller scoped to a tenant lists and requeues only its own sessions' dead letters.
conformance('deadLettersAreScopedToTheirTenant', async (store) => {
  const mine = await store.queue.enqueue({ ...turnInputDraft('s-a', 'a', 'after_current_turn_commit', 'exclusive'), tenantId: 'tenant-a' });
  const theirs = await store.queue.enqueue({ ...turnInputDraft('s-b', 'b', 'after_current_turn_commit', 'exclusive'), tenantId: 'tenant-b' });
  await store.queue.deadLetter('s-a', mine.batchId, 'poison');
  await store.queue.deadLetter('s-b', theirs.batchId, 'poison');

  expect((await store.queue.listDeadLetters(undefined, { tenantId: 'tenant-a' })).map((d) => d.batchId)).toEqual([mine.batchId]);
  expect(await store.queue.listDeadLetters('s-b', { tenantId: 'tenant-a' })).toEqual([]);
  expect((await store.queue.listDeadLetters()).map((d) => d.batchId).sort()).toEqual([mine.batchId, theirs.batchId].sort());

  // Another tenant's dead letter: not requeued, still there.
  expect(await store.queue.requeueDeadLetter(theirs.batchId, { tenantId: 'tenant-a' })).toBeNull();
  expect((await store.queue.listDeadLetters('s-b')).map((d) => d.batchId)).toEqual([theirs.batchId]);
  expect((await store.queue.requeueDeadLetter(mine.batchId, { tenantId: 'tenant-a' }))!.batchId).toBe(mine.batchId);
  expect((await store.queue.requeueDeadLetter(theirs.batchId))!.batchId).toBe(theirs.batchId);
  await expect(store.queue.listDeadLetters(undefined, { tenantId: 'no such' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
});
