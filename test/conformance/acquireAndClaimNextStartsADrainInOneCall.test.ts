import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, commitForTest, expectTypedError, minimalState, sampleNode, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

function first(store: RuntimeStore, ownerId: string, extra: { maxBatches?: number; maxAttempts?: number; ttlMs?: number } = {}) {
  return store.leases.acquireAndClaimNext({ sessionId: 'root', owner: testOwner(ownerId), ttlMs: extra.ttlMs ?? TEST_TTL_MS, maxBatches: extra.maxBatches ?? 10, ...(extra.maxAttempts ? { maxAttempts: extra.maxAttempts } : {}) });
}

// The drain's first round trip (beyond spec 02): the lease, the first claim (as claimNext) and the
// session's active path, taken together; a free session with nothing ready is left untouched.
conformance('acquireAndClaimNextStartsADrainInOneCall', async (store) => {
  // Nothing queued, nothing leased: idle, and nothing written.
  expect(await first(store, 'a')).toEqual({ kind: 'idle' });
  expect(await store.leases.get('root')).toBeNull();

  const a = sampleNode('a', null);
  await commitForTest(store, stateCommit('root', minimalState({ graph: { kind: 'append', nodes: [a], leafNodeId: 'a' } })), 'writer');
  const before = (await store.leases.get('root'))!;
  const one = await store.queue.enqueue(turnInputDraft('root', 'one', 'after_current_turn_commit', 'exclusive'));
  const two = await store.queue.enqueue(turnInputDraft('root', 'two', 'after_current_turn_commit', 'exclusive'));

  // maxBatches 0 finds nothing to claim: idle, the lease stays released.
  expect(await first(store, 'a', { maxBatches: 0 })).toEqual({ kind: 'idle' });
  expect((await store.leases.get('root'))!.leaseToken).toBe('');

  const started = await first(store, 'a');
  if (started.kind !== 'acquired') throw new Error(`expected acquired, got ${started.kind}`);
  expect(started.lease.owner.ownerId).toBe('a');
  expect(started.lease.fencingToken).toBe(before.fencingToken + 1);
  expect(batchIds(started.first!.claim.batches)).toEqual([one.batchId]);
  expect(started.first!.session).toEqual(await store.sessions.load('root', { kind: 'active_path' }));
  expect(started.first!.session!.graph.nodes.map((n) => n.nodeId)).toEqual(['a']);

  // Held by a live holder: busy, naming it; nothing claimed.
  const busy = await first(store, 'b');
  expect(busy.kind).toBe('busy');
  if (busy.kind === 'busy') expect(busy.holder.owner.ownerId).toBe('a');
  expect(batchIds(await store.queue.listPending('root'))).toEqual([two.batchId]);

  // The claim is a real one: it completes in a commit under the lease.
  await store.sessions.commit({ ...underLease(stateCommit('root', minimalState(), { expectedHeadRevision: 1 }), started.lease, false), completedQueueClaims: [queueClaimCompletion(started.first!.claim)] });

  // Re-entry by the same owner and incarnation: the lease, no claim (the caller claims).
  const again = await first(store, 'a');
  expect(again).toEqual({ kind: 'acquired', lease: expect.objectContaining({ leaseToken: started.lease.leaseToken, fencingToken: started.lease.fencingToken }), first: null });

  // An expired holder is taken over: its claims are dropped first, so the caller's claimNext takes the head.
  const held = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(started.lease), owner: started.lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(held.claim!.batches)).toEqual([two.batchId]);
  store.clock.advance(TEST_TTL_MS + 1);
  const taken = await first(store, 'b');
  if (taken.kind !== 'acquired') throw new Error(`expected acquired, got ${taken.kind}`);
  expect(taken.first).toBeNull();
  expect(taken.lease.fencingToken).toBe(started.lease.fencingToken + 1);
  const retaken = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(taken.lease), owner: taken.lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(retaken.claim!.batches)).toEqual([two.batchId]);

  await expectTypedError(store.leases.acquireAndClaimNext({ sessionId: 'root', owner: testOwner('c'), ttlMs: TEST_TTL_MS, maxBatches: 'ten' as unknown as number }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.leases.acquireAndClaimNext({ sessionId: 'root', owner: testOwner('c'), ttlMs: -1, maxBatches: 1 }), InvalidInputError, 'INVALID_INPUT');
});

// Batches at maxAttempts are the caller's claimNext to dead-letter: the lease is taken, first is null.
conformance('acquireAndClaimNextLeavesSpentBatchesToClaimNext', async (store) => {
  const poison = await store.queue.enqueue(turnInputDraft('root', 'poison', 'after_current_turn_commit', 'exclusive'));
  const fine = await store.queue.enqueue(turnInputDraft('root', 'fine', 'after_current_turn_commit', 'exclusive'));
  const opened = await first(store, 'a', { maxAttempts: 1 });
  if (opened.kind !== 'acquired' || !opened.first) throw new Error('expected a first claim');
  expect(batchIds(opened.first.claim.batches)).toEqual([poison.batchId]);
  expect(opened.first.session).toBeNull();
  await store.queue.abandonClaim(opened.first.claim, { reason: 'Error: boom', maxAttempts: 5 });
  await store.leases.release(leaseFence(opened.lease));

  const spent = await first(store, 'a', { maxAttempts: 1 });
  if (spent.kind !== 'acquired') throw new Error(`expected acquired, got ${spent.kind}`);
  expect(spent.first).toBeNull();
  const next = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(spent.lease), owner: spent.lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1, maxAttempts: 1 });
  expect(batchIds(next.claim!.batches)).toEqual([fine.batchId]);
  expect((await store.queue.listDeadLetters('root')).map((l) => l.batchId)).toEqual([poison.batchId]);
});
