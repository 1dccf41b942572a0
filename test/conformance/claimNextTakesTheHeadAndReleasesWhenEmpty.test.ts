import { expect } from 'vitest';
import { InvalidInputError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../../src/errors.js';
import type { QueuedWorkBatchDraft, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, sessionCommandDraft, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

const grouped = (draft: QueuedWorkBatchDraft): QueuedWorkBatchDraft => ({ ...draft, mergeKey: { kind: 'group', key: 'g' } });

function next(store: RuntimeStore, lease: SessionLease, releaseLeaseWhenEmpty = false, maxBatches = 10) {
  return store.queue.claimNext({ sessionId: lease.sessionId, fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches, releaseLeaseWhenEmpty });
}

async function complete(store: RuntimeStore, lease: SessionLease, claim: Parameters<typeof queueClaimCompletion>[0]): Promise<void> {
  await store.sessions.commit({ ...underLease(stateCommit(lease.sessionId), lease, false), completedQueueClaims: [queueClaimCompletion(claim)] });
}

// The runtime's claim between turns (beyond spec 02): the head session command alone, else the
// ready group at the idle boundary; with releaseLeaseWhenEmpty, an empty claim releases the lease.
conformance('claimNextTakesTheHeadAndReleasesWhenEmpty', async (store) => {
  const command = await store.queue.enqueue(sessionCommandDraft('root', { kind: 'reset_session', reason: 'r' }, 'op-1'));
  const first = await store.queue.enqueue(grouped(turnInputDraft('root', 'one', 'after_current_turn_commit', 'join')));
  const second = await store.queue.enqueue(grouped(turnInputDraft('root', 'two', 'after_current_turn_commit', 'join')));
  const lease = await claimLeaseForTest(store, 'root', 'owner');

  // A command at the head comes alone, even with room for more.
  const c = await next(store, lease, true);
  expect(c.leaseReleased).toBe(false);
  expect(batchIds(c.claim!.batches)).toEqual([command.batchId]);
  await complete(store, lease, c.claim!);

  // Then the join group, exactly as claimReady at the idle boundary would take it.
  const group = await next(store, lease, true);
  expect(batchIds(group.claim!.batches)).toEqual([first.batchId, second.batchId]);
  await complete(store, lease, group.claim!);

  // maxBatches bounds the group; maxBatches <= 0 claims nothing (and releases nothing without the flag).
  const third = await store.queue.enqueue(grouped(turnInputDraft('root', 'three', 'after_current_turn_commit', 'join')));
  expect(await next(store, lease, false, 0)).toEqual({ claim: null, leaseReleased: false });

  // A stale fence is refused as by claimReady, and releases nothing.
  await expectTypedError(
    store.queue.claimNext({ sessionId: 'root', fence: { ...leaseFence(lease), leaseToken: `${lease.leaseToken}:stale` }, owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1, releaseLeaseWhenEmpty: true }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  await expectTypedError(
    store.queue.claimNext({ sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1, releaseLeaseWhenEmpty: 'yes' as unknown as boolean }),
    InvalidInputError,
    'INVALID_INPUT',
  );
  const last = await next(store, lease, true);
  expect(batchIds(last.claim!.batches)).toEqual([third.batchId]);
  await complete(store, lease, last.claim!);

  // Nothing left: without the flag the lease stays; with it the lease is released in the same call.
  expect(await next(store, lease, false)).toEqual({ claim: null, leaseReleased: false });
  expect((await store.leases.tryClaim('root', testOwner('other'), TEST_TTL_MS)).kind).toBe('busy');
  expect(await next(store, lease, true)).toEqual({ claim: null, leaseReleased: true });
  expect((await store.leases.get('root'))!.leaseToken).toBe('');
  expect((await store.leases.tryClaim('root', testOwner('other'), TEST_TTL_MS)).kind).toBe('acquired');
  // The released fence is dead now.
  await expectTypedError(next(store, lease, true), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
});

// With maxAttempts, exhausted batches are dead-lettered first and the next one is the head.
conformance('claimNextRetiresExhaustedBatchesFirst', async (store) => {
  const poisoned = await store.queue.enqueue(turnInputDraft('root', 'poison', 'after_current_turn_commit', 'exclusive'));
  const fine = await store.queue.enqueue(turnInputDraft('root', 'fine', 'after_current_turn_commit', 'exclusive'));
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const base = { sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 1 };
  const failing = await store.queue.claimNext(base);
  expect(batchIds(failing.claim!.batches)).toEqual([poisoned.batchId]);
  await store.queue.abandonClaim(failing.claim!, { reason: 'Error: boom', maxAttempts: 2 });
  const after = await store.queue.claimNext({ ...base, maxAttempts: 1 });
  expect(batchIds(after.claim!.batches)).toEqual([fine.batchId]);
  const letters = await store.queue.listDeadLetters('root');
  expect(letters.map((l) => [l.batchId, l.reason])).toEqual([[poisoned.batchId, 'Error: boom']]);
});

// Between turns a holder holds no claim of its own: a live claim of the same owner and incarnation
// is one it could not abandon (its connection was lost). claimNext takes it again instead of
// skipping it, so later input never runs first; claimReady still skips held batches (spec 02).
conformance('claimNextRetakesItsHoldersLeakedClaim', async (store) => {
  const first = await store.queue.enqueue(turnInputDraft('root', 'one', 'after_current_turn_commit', 'exclusive'));
  const second = await store.queue.enqueue(turnInputDraft('root', 'two', 'after_current_turn_commit', 'exclusive'));
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const leaked = await next(store, lease);
  expect(batchIds(leaked.claim!.batches)).toEqual([first.batchId]);
  // The turn failed and its abandon never reached the store: the claim is still live.
  const ready = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(ready!.batches)).toEqual([second.batchId]);
  await store.queue.abandonClaim(ready!);
  const again = await next(store, lease);
  expect(batchIds(again.claim!.batches)).toEqual([first.batchId]);
  expect(again.claim!.claimId).not.toBe(leaked.claim!.claimId);
  expect(again.claim!.fencingToken).toBeGreaterThan(leaked.claim!.fencingToken);
  // The leaked claim no longer owns its batch.
  await expectTypedError(store.queue.renewClaim(leaked.claim!, TEST_TTL_MS), QueuedWorkClaimExpiredError, 'QUEUED_WORK_CLAIM_EXPIRED');
  // Another owner's live claim is never taken.
  await complete(store, lease, again.claim!);
  const other = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(lease), owner: testOwner('someone-else'), ttlMs: TEST_TTL_MS, maxBatches: 1 });
  expect(batchIds(other.claim!.batches)).toEqual([second.batchId]);
  expect((await next(store, lease)).claim).toBeNull();
});
