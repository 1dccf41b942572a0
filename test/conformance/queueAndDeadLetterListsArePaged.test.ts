import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimReadyForTest, expectTypedError } from './support.js';

// queue.list, queue.listPending and queue.listDeadLetters answer one page at a time: after a
// cursor, at most a limit (1–1,000), in their documented order; without a page, everything.
conformance('queueAndDeadLetterListsArePaged', async (store) => {
  const batches = [];
  for (let i = 0; i < 5; i++) batches.push(await store.queue.enqueue(turnInputDraft('paged', `m${i}`, 'earliest_safe_boundary', 'exclusive')));
  const ids = batchIds(batches);

  expect(batchIds(await store.queue.list('paged', { limit: 2 }))).toEqual(ids.slice(0, 2));
  expect(batchIds(await store.queue.list('paged', { afterEnqueueSeq: batches[1]!.enqueueSeq, limit: 2 }))).toEqual(ids.slice(2, 4));
  expect(batchIds(await store.queue.list('paged', { afterEnqueueSeq: batches[3]!.enqueueSeq, limit: 2 }))).toEqual(ids.slice(4));
  expect(batchIds(await store.queue.list('paged', { afterEnqueueSeq: batches[4]!.enqueueSeq }))).toEqual([]);
  expect(batchIds(await store.queue.list('paged'))).toEqual(ids);

  // Pending pages leave out the held head.
  const claim = await claimReadyForTest(store, 'paged', 'owner-a', { maxBatches: 1 });
  expect(batchIds(claim!.batches)).toEqual([ids[0]]);
  expect(batchIds(await store.queue.listPending('paged', { limit: 2 }))).toEqual(ids.slice(1, 3));

  for (const limit of [0, 1001, 1.5, -1]) await expectTypedError(store.queue.list('paged', { limit }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.queue.list('paged', { afterEnqueueSeq: -1 }), InvalidInputError, 'INVALID_INPUT');

  // Dead letters: by (deadLetteredAtMs, enqueueSeq), after the last one seen.
  for (const batch of batches.slice(1)) expect(await store.queue.deadLetter('paged', batch.batchId, 'poison')).not.toBeNull();
  const all = await store.queue.listDeadLetters('paged');
  expect(all.map((d) => d.batchId)).toEqual(ids.slice(1));
  const first = await store.queue.listDeadLetters('paged', { limit: 3 });
  expect(first.map((d) => d.batchId)).toEqual(ids.slice(1, 4));
  const last = first.at(-1)!;
  const rest = await store.queue.listDeadLetters(undefined, { after: { deadLetteredAtMs: last.deadLetteredAtMs, enqueueSeq: last.batch.enqueueSeq }, limit: 3 });
  expect(rest.map((d) => d.batchId)).toEqual(ids.slice(4));
  await expectTypedError(store.queue.listDeadLetters(undefined, { limit: 0 }), InvalidInputError, 'INVALID_INPUT');
});
