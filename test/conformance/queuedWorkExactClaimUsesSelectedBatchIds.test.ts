import { expect } from 'vitest';
import type { RuntimeStore } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, releaseLeaseForTest, TEST_TTL_MS } from './support.js';

async function claimExactlyForTest(store: RuntimeStore, ids: string[]) {
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  try {
    return await store.queue.claimByBatchIds({
      sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, batchIds: ids,
    });
  } finally {
    await releaseLeaseForTest(store, lease);
  }
}

// Twin of queued_work_exact_claim_uses_selected_batch_ids.
conformance('queuedWorkExactClaimUsesSelectedBatchIds', async (store) => {
  const first = await store.queue.enqueue(turnInputDraft('root', 'first', 'after_current_turn_commit', 'exclusive'));
  const second = await store.queue.enqueue(turnInputDraft('root', 'second', 'after_current_turn_commit', 'exclusive'));

  // Exact claims never skip earlier durable work, and a refused exact claim has no side effect.
  expect(await claimExactlyForTest(store, [second.batchId])).toBeNull();
  expect(batchIds(await store.queue.listPending('root'))).toEqual([first.batchId, second.batchId]);
  // Not the group claimReady would select (an exclusive head is claimed alone).
  expect(await claimExactlyForTest(store, [first.batchId, second.batchId])).toBeNull();
  expect(await claimExactlyForTest(store, [])).toBeNull();
  expect(batchIds(await store.queue.listPending('root'))).toEqual([first.batchId, second.batchId]);

  const claim = await claimExactlyForTest(store, [first.batchId]);
  expect(claim).not.toBeNull();
  expect(batchIds(claim!.batches)).toEqual([first.batchId]);
  // The refused attempts bumped no claim counter: this is the row's first claim.
  expect(claim!.fencingToken).toBe(1);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([second.batchId]);

  const next = await claimExactlyForTest(store, [second.batchId]);
  expect(batchIds(next!.batches)).toEqual([second.batchId]);
  expect(next!.fencingToken).toBe(1);
  // A held batch cannot be claimed exactly again.
  expect(await claimExactlyForTest(store, [first.batchId])).toBeNull();
});
