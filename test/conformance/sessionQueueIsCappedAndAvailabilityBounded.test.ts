import { expect } from 'vitest';
import { InvalidInputError, QueueFullError } from '../../src/errors.js';
import { turnInputDraft, withSourceKey } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimReadyForTest, expectTypedError } from './support.js';

// A session holds at most limits.maxQueuedBatchesPerSession queued batches; a replay of a stored
// source key still answers at the cap; a batch that leaves frees its slot; other sessions are not
// counted. availableAtMs is at most limits.maxDelayMs after store time.
conformance(
  'sessionQueueIsCappedAndAvailabilityBounded',
  async (store) => {
    const draft = (text: string) => turnInputDraft('capped', text, 'earliest_safe_boundary', 'exclusive');
    const first = await store.queue.enqueue(withSourceKey(draft('one'), 'k-1'));
    const second = await store.queue.enqueue(draft('two'));
    const third = await store.queue.enqueue(draft('three'));

    const refused = await expectTypedError(store.queue.enqueue(draft('four')), QueueFullError, 'SESSION_QUEUE_FULL');
    expect(refused.details).toMatchObject({ sessionId: 'capped', limit: 3, queued: 3 });
    await expectTypedError(store.queue.enqueue(withSourceKey(draft('new key'), 'k-new')), QueueFullError, 'SESSION_QUEUE_FULL');
    expect(batchIds(await store.queue.list('capped'))).toEqual([first.batchId, second.batchId, third.batchId]);

    // A replay answers with the stored batch, cap or not.
    expect((await store.queue.enqueue(withSourceKey(draft('one again'), 'k-1'))).batchId).toBe(first.batchId);
    // Another session has its own queue.
    await store.queue.enqueue(turnInputDraft('elsewhere', 'fine', 'earliest_safe_boundary', 'exclusive'));

    // A cancelled batch frees its slot; a held one still counts.
    expect(await store.queue.cancel('capped', second.batchId)).not.toBeNull();
    const fourth = await store.queue.enqueue(draft('four'));
    const claim = await claimReadyForTest(store, 'capped', 'owner-a', { maxBatches: 1 });
    expect(batchIds(claim!.batches)).toEqual([first.batchId]);
    await expectTypedError(store.queue.enqueue(draft('five')), QueueFullError, 'SESSION_QUEUE_FULL');
    expect(batchIds(await store.queue.list('capped'))).toEqual([first.batchId, third.batchId, fourth.batchId]);

    // availableAtMs: up to maxDelayMs after now; past it, invalid input naming the field.
    const now = await store.clock.nowMs();
    const latest = await store.queue.enqueue({ ...turnInputDraft('later', 'at the bound', 'earliest_safe_boundary', 'exclusive'), availableAtMs: now + 60_000 });
    expect(latest.availableAtMs).toBe(now + 60_000);
    const far = await expectTypedError(
      store.queue.enqueue({ ...turnInputDraft('later', 'too far', 'earliest_safe_boundary', 'exclusive'), availableAtMs: Number.MAX_SAFE_INTEGER }),
      InvalidInputError,
      'INVALID_INPUT',
    );
    expect(far.message).toContain('draft.availableAtMs');
    expect(batchIds(await store.queue.list('later'))).toEqual([latest.batchId]);
  },
  { limits: { maxQueuedBatchesPerSession: 3, maxDelayMs: 60_000 } },
);
