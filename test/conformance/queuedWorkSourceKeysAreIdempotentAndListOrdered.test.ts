import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, batchText, expectTypedError } from './support.js';

// Twin of queued_work_source_keys_are_idempotent_and_list_ordered.
conformance('queuedWorkSourceKeysAreIdempotentAndListOrdered', async (store, ctx) => {
  const first = await store.queue.enqueue(withSourceKey(turnInputDraft('root', 'first', 'earliest_safe_boundary', 'join'), 'source:first'));
  expect(first.status).toBe('queued');
  expect(first.sessionId).toBe('root');
  expect(first.sourceKey).toBe('source:first');
  expect(first.mergeKey).toEqual({ kind: 'never' });
  expect(first.availableAtMs).toBe(0);
  expect(first.items.map((item) => item.itemId)).toEqual([`${first.batchId}:item:0`]);

  const replay = await store.queue.enqueue(
    withSourceKey(turnInputDraft('root', 'different replay payload', 'earliest_safe_boundary', 'join'), 'source:first'),
  );
  const second = await store.queue.enqueue(turnInputDraft('root', 'second', 'earliest_safe_boundary', 'exclusive'));
  const other = await store.queue.enqueue(turnInputDraft('other', 'other session', 'earliest_safe_boundary', 'exclusive'));
  // A source key is unique per session: the same key in another session is another batch.
  const otherKeyed = await store.queue.enqueue(withSourceKey(turnInputDraft('other', 'other keyed', 'earliest_safe_boundary', 'join'), 'source:first'));
  expect(otherKeyed.batchId).not.toBe(first.batchId);
  expect(batchText(otherKeyed)).toBe('other keyed');

  // Replaying a source key returns the original batch exactly as first stored.
  expect(replay.batchId).toBe(first.batchId);
  expect(replay.items[0]!.itemId).toBe(first.items[0]!.itemId);
  expect(batchText(replay)).toBe('first');
  expect(replay).toEqual(first);

  const listed = await store.queue.list('root');
  expect(batchIds(listed)).toEqual([first.batchId, second.batchId]);
  expect(listed[0]!.enqueueSeq).toBeLessThan(listed[1]!.enqueueSeq);
  expect(listed[0]).toEqual(first);
  expect(second.enqueueSeq).toBeLessThan(other.enqueueSeq);
  expect(batchIds(await store.queue.list('other'))).toEqual([other.batchId, otherKeyed.batchId]);
  expect(new Set([first.batchId, second.batchId, other.batchId, otherKeyed.batchId]).size).toBe(4);

  // Concurrent enqueues of one new source key (on separate handles) all return the same batch.
  const handles = [store, store, await ctx.open(), await ctx.open()];
  const raced = await Promise.all(handles.map((handle, i) =>
    handle.queue.enqueue(withSourceKey(turnInputDraft('race', `attempt ${i}`, 'earliest_safe_boundary', 'exclusive'), 'source:race'))));
  expect(new Set(raced.map((batch) => batch.batchId)).size).toBe(1);
  expect(batchIds(await store.queue.list('race'))).toEqual([raced[0]!.batchId]);

  // Invalid drafts are refused before anything is written.
  await expectTypedError(store.queue.enqueue({ ...turnInputDraft('root', 'x', 'earliest_safe_boundary', 'exclusive'), payloads: [] }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.queue.enqueue(turnInputDraft('not a session id!', 'x', 'earliest_safe_boundary', 'exclusive')), InvalidInputError, 'INVALID_INPUT');
  expect(batchIds(await store.queue.list('root'))).toEqual([first.batchId, second.batchId]);
});
