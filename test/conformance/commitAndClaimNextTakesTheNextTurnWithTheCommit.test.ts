import { expect } from 'vitest';
import { HeadRevisionConflictError, InvalidInputError, SessionLeaseExpiredError } from '../../src/errors.js';
import type { CommitNextClaim, QueuedWorkClaim, RuntimeCommit, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseCompletion, leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, minimalState, stamped, stateCommit, TEST_TTL_MS, underLease } from './support.js';

function turnCommit(lease: SessionLease, claim: QueuedWorkClaim, head: number, turnId: string): RuntimeCommit {
  return stamped({ ...underLease(stateCommit(lease.sessionId, minimalState(), { expectedHeadRevision: head }), lease, false), completedQueueClaims: [queueClaimCompletion(claim)] }, turnId);
}

function nextOf(lease: SessionLease, releaseLeaseWhenEmpty = true): CommitNextClaim {
  return { owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 10, releaseLeaseWhenEmpty };
}

async function startDrain(store: RuntimeStore, lease: SessionLease): Promise<QueuedWorkClaim> {
  const { claim } = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 10 });
  return claim!;
}

// A commit and the claim after it in one call (beyond spec 02): the next claim is exactly what
// claimNext would take after the commit landed, and the last one releases the lease.
conformance('commitAndClaimNextTakesTheNextTurnWithTheCommit', async (store) => {
  const drafts = ['one', 'two', 'three'].map((text) => turnInputDraft('root', text, 'after_current_turn_commit', 'exclusive'));
  const [one, two, three] = await Promise.all(drafts.map(async () => null)).then(async () => {
    const out = [];
    for (const d of drafts) out.push(await store.queue.enqueue(d));
    return out;
  });
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const claimOne = await startDrain(store, lease);
  expect(batchIds(claimOne.batches)).toEqual([one!.batchId]);

  const first = await store.sessions.commitAndClaimNext(turnCommit(lease, claimOne, 0, 't1'), nextOf(lease));
  expect(first.result.headRevision).toBe(1);
  expect(batchIds(first.next!.claim!.batches)).toEqual([two!.batchId]);
  expect(await store.queue.get(one!.batchId)).toBeNull();

  // The same stamped commit again is a replay: the stored result, and no claim taken.
  const replay = await store.sessions.commitAndClaimNext(turnCommit(lease, claimOne, 0, 't1'), nextOf(lease));
  expect(replay).toEqual({ result: first.result, next: null });

  // A refused commit takes no claim either.
  await expectTypedError(store.sessions.commitAndClaimNext(turnCommit(lease, first.next!.claim!, 7, 't2'), nextOf(lease)), HeadRevisionConflictError, 'HEAD_REVISION_CONFLICT');
  expect(batchIds(await store.queue.listPending('root'))).toEqual([three!.batchId]);

  const second = await store.sessions.commitAndClaimNext(turnCommit(lease, first.next!.claim!, 1, 't2'), nextOf(lease));
  expect(batchIds(second.next!.claim!.batches)).toEqual([three!.batchId]);
  // Without releaseLeaseWhenEmpty an empty claim keeps the lease; with it the lease is released.
  const third = await store.sessions.commitAndClaimNext(turnCommit(lease, second.next!.claim!, 2, 't3'), nextOf(lease));
  expect(third.next).toEqual({ claim: null, leaseReleased: true });
  expect((await store.leases.get('root'))!.leaseToken).toBe('');
  expect((await store.sessions.load('root', { kind: 'active_path' }))!.headRevision).toBe(3);
});

conformance('commitAndClaimNextKeepsTheLeaseWhenAskedAndRefusesBadInput', async (store) => {
  await store.queue.enqueue(turnInputDraft('root', 'one', 'after_current_turn_commit', 'exclusive'));
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const claim = await startDrain(store, lease);
  const commit = turnCommit(lease, claim, 0, 't1');

  // Bad input is refused before anything is written.
  await expectTypedError(store.sessions.commitAndClaimNext({ ...commit, releaseLease: leaseCompletion(lease) }, nextOf(lease)), InvalidInputError, 'INVALID_INPUT');
  const { leaseFence: _fence, ...unfenced } = commit;
  await expectTypedError(store.sessions.commitAndClaimNext(unfenced, nextOf(lease)), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.sessions.commitAndClaimNext(commit, { ...nextOf(lease), maxBatches: 'x' as unknown as number }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.sessions.commitAndClaimNext(commit, { ...nextOf(lease), releaseLeaseWhenEmpty: 'yes' as unknown as boolean }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(
    store.sessions.commitAndClaimNext({ ...commit, leaseFence: { ...leaseFence(lease), leaseToken: 'stale' } }, nextOf(lease)),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  expect((await store.sessions.load('root', { kind: 'active_path' }))).toBeNull();

  const done = await store.sessions.commitAndClaimNext(commit, nextOf(lease, false));
  expect(done.next).toEqual({ claim: null, leaseReleased: false });
  expect((await store.leases.get('root'))!.leaseToken).toBe(lease.leaseToken);

  // With an outbox the commit lands and the claim is left to the caller.
  const outboxCommit = stamped(
    { ...underLease(stateCommit('root', minimalState(), { expectedHeadRevision: 1 }), lease, false), enqueueBatches: [turnInputDraft('root', 'later', 'after_current_turn_commit', 'exclusive')] },
    't2',
  );
  const withOutbox = await store.sessions.commitAndClaimNext(outboxCommit, nextOf(lease));
  expect(withOutbox.next).toBeNull();
  expect(withOutbox.result.enqueuedBatches).toHaveLength(1);
  const later = await store.queue.claimNext({ sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, ttlMs: TEST_TTL_MS, maxBatches: 10 });
  expect(batchIds(later.claim!.batches)).toEqual([withOutbox.result.enqueuedBatches[0]!.batchId]);
});
