/**
 * Regression for a divergence the model-based test found: after a `join` head with a group key,
 * a following `join` batch whose merge key is `never` must end the group (a never key joins
 * nothing). The Postgres store compared the null merge key with `=` and joined it.
 */
import { expect } from 'vitest';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { conformance } from '../conformance/harness.js';
import { batchIds, claimLeaseForTest, TEST_TTL_MS } from '../conformance/support.js';

function join(mergeKey: QueuedWorkBatchDraft['mergeKey'], text: string): QueuedWorkBatchDraft {
  return {
    sessionId: 'join-never',
    deliveryPolicy: 'earliest_safe_boundary',
    slotPolicy: 'join',
    ...(mergeKey ? { mergeKey } : {}),
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text }] } }],
  };
}

conformance('joinStopsAtANeverMergeKey', async (store) => {
  const head = await store.queue.enqueue(join({ kind: 'group', key: 'g1' }, 'head'));
  const never = await store.queue.enqueue(join({ kind: 'never' }, 'never'));
  const defaulted = await store.queue.enqueue(join(undefined, 'default key'));
  const lease = await claimLeaseForTest(store, 'join-never', 'claimer');
  const claim = (maxBatches: number) =>
    store.queue.claimReady({ sessionId: 'join-never', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches });
  expect(batchIds((await claim(5))!.batches)).toEqual([head.batchId]);
  // The never-keyed batch is then a head of its own and joins nothing either.
  expect(batchIds((await claim(5))!.batches)).toEqual([never.batchId]);
  expect(batchIds((await claim(5))!.batches)).toEqual([defaulted.batchId]);
});
