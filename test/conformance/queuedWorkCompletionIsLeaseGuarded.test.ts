import { expect } from 'vitest';
import { QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../../src/errors.js';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

const grouped = (draft: QueuedWorkBatchDraft): QueuedWorkBatchDraft => ({ ...draft, mergeKey: { kind: 'group', key: 'joined' } });

// Twin of queued_work_completion_is_lease_guarded.
conformance('queuedWorkCompletionIsLeaseGuarded', async (store) => {
  const first = await store.queue.enqueue(grouped(turnInputDraft('root', 'join one', 'earliest_safe_boundary', 'join')));
  const second = await store.queue.enqueue(grouped(turnInputDraft('root', 'join two', 'earliest_safe_boundary', 'join')));
  const lease = await claimLeaseForTest(store, 'root', 'owner-a');
  const claim = await store.queue.claimReady({
    sessionId: 'root', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10,
  });
  expect(batchIds(claim!.batches)).toEqual([first.batchId, second.batchId]);

  const staleCompletion = { ...queueClaimCompletion(claim!), claimToken: `${claim!.claimToken}:stale` };
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('root'), leaseFence: leaseFence(lease), completedQueueClaims: [staleCompletion] }),
    QueuedWorkClaimExpiredError,
    'QUEUED_WORK_CLAIM_EXPIRED',
  );
  expect(await store.queue.list('root')).toHaveLength(2);
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();

  // A valid completion under a stale lease fence is refused too.
  await expectTypedError(
    store.sessions.commit({
      ...stateCommit('root'),
      leaseFence: { ...leaseFence(lease), leaseToken: `${lease.leaseToken}:stale` },
      completedQueueClaims: [queueClaimCompletion(claim!)],
    }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  expect(await store.queue.list('root')).toHaveLength(2);
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();

  const result = await store.sessions.commit(underLease({ ...stateCommit('root'), completedQueueClaims: [queueClaimCompletion(claim!)] }, lease));
  expect(result.headRevision).toBe(1);
  expect(await store.queue.list('root')).toEqual([]);
  expect((await store.sessions.load('root', { kind: 'full_graph' }))!.headRevision).toBe(1);
  // The commit released the lease.
  expect((await store.leases.tryClaim('root', testOwner('next-owner'), TEST_TTL_MS)).kind).toBe('acquired');
});
