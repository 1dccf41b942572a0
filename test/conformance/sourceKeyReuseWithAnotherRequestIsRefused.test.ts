import { expect } from 'vitest';
import { IdempotencyKeyReusedError } from '../../src/errors.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, minimalState, stateCommit, underLease } from './support.js';

const draft = (text: string, sourceKey: string, requestHash?: string) => ({
  ...turnInputDraft('root', text, 'after_current_turn_commit', 'exclusive'),
  sourceKey,
  ...(requestHash !== undefined ? { requestHash } : {}),
});

// Issue 13 item 8: the same Idempotency-Key with another body silently returned the first batch.
// A draft that names a requestHash stores it with its source key; a replay naming another hash is
// refused (IdempotencyKeyReusedError, nothing written), an identical one is a replay and says so.
conformance('sourceKeyReuseWithAnotherRequestIsRefused', async (store) => {
  const first = await store.queue.enqueueWithOutcome(draft('hello', 'k1', 'hash-a'));
  expect(first.replayed).toBe(false);
  const again = await store.queue.enqueueWithOutcome(draft('hello', 'k1', 'hash-a'));
  expect(again).toEqual({ batch: first.batch, replayed: true });

  const refused = await expectTypedError(store.queue.enqueue(draft('goodbye', 'k1', 'hash-b')), IdempotencyKeyReusedError, 'IDEMPOTENCY_KEY_REUSED');
  expect(refused.details).toEqual({ sessionId: 'root', sourceKey: 'k1' });
  expect(batchIds(await store.queue.list('root'))).toEqual([first.batch.batchId]);
  // Without a hash on either side, the first batch answers as before (the seed's source-key rule).
  expect(await store.queue.enqueueWithOutcome(draft('other text', 'k1'))).toEqual({ batch: first.batch, replayed: true });
  const unhashed = await store.queue.enqueue(draft('no hash', 'k2'));
  expect((await store.queue.enqueueWithOutcome(draft('later', 'k2', 'hash-c'))).batch).toEqual(unhashed);

  // The stored hash outlives the batch: a terminal replay is checked the same way.
  expect((await store.queue.cancel('root', first.batch.batchId))?.status).toBe('cancelled');
  await expectTypedError(store.queue.enqueue(draft('goodbye', 'k1', 'hash-b')), IdempotencyKeyReusedError, 'IDEMPOTENCY_KEY_REUSED');
  expect(await store.queue.enqueueWithOutcome(draft('hello', 'k1', 'hash-a'))).toEqual({
    batch: { ...first.batch, status: 'cancelled' },
    replayed: true,
  });

  // A commit whose outbox reuses a key for another request is refused and writes nothing.
  const lease = await claimLeaseForTest(store, 'root', 'worker');
  await expectTypedError(
    store.sessions.commit(underLease(stateCommit('root', minimalState(), { enqueueBatches: [draft('outbox', 'k1', 'hash-d')] }), lease)),
    IdempotencyKeyReusedError,
    'IDEMPOTENCY_KEY_REUSED',
  );
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();
  expect(batchIds(await store.queue.list('root'))).toEqual([unhashed.batchId]);
});
