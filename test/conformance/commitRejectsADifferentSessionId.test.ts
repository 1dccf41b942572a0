import { expect } from 'vitest';
import { SessionBindingMismatchError, TurnCommitConflictError } from '../../src/errors.js';
import { leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, commitForTest, expectTypedError, minimalState, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

// Twin of commit_rejects_a_different_session_id: in a multi-session store a commit whose fence,
// stamp, outbox or completion names another session is rejected and writes nothing.
conformance('commitRejectsADifferentSessionId', async (store) => {
  const bound = await commitForTest(store, stateCommit('alpha'), 'bind-alpha');
  expect(bound.headRevision).toBe(1);

  const alphaLease = await claimLeaseForTest(store, 'alpha', 'alpha-owner');
  const expectNothingWritten = async () => {
    expect(await store.sessions.load('beta', { kind: 'full_graph' })).toBeNull();
    const alpha = await store.sessions.load('alpha', { kind: 'full_graph' });
    expect(alpha!.headRevision).toBe(1);
    expect(alpha!.checkpoint?.turnIndex).toBe(0);
    // The lease the rejected commit asked to release is still held.
    const busy = await store.leases.tryClaim('alpha', testOwner('intruder'), TEST_TTL_MS);
    expect(busy.kind).toBe('busy');
  };

  // A commit for beta carrying alpha's fence.
  await expectTypedError(
    store.sessions.commit(underLease(stateCommit('beta', minimalState({ checkpoint: { turnIndex: 5 } })), alphaLease)),
    SessionBindingMismatchError,
    'SESSION_BINDING_MISMATCH',
  );
  await expectNothingWritten();

  // A commit for alpha whose stamp names beta.
  const changed = stateCommit('alpha', minimalState({ checkpoint: { turnIndex: 5 } }));
  await expectTypedError(
    store.sessions.commit({ ...underLease(changed, alphaLease), turnStamp: { sessionId: 'beta', turnId: 'turn-1', hash: turnCommitHash(changed) } }),
    TurnCommitConflictError,
    'TURN_COMMIT_CONFLICT',
  );
  await expectNothingWritten();

  // A commit for alpha whose outbox enqueues into beta.
  await expectTypedError(
    store.sessions.commit(underLease({ ...changed, enqueueBatches: [turnInputDraft('beta', 'outbox', 'earliest_safe_boundary', 'exclusive')] }, alphaLease)),
    SessionBindingMismatchError,
    'SESSION_BINDING_MISMATCH',
  );
  await expectNothingWritten();
  expect(await store.queue.list('beta')).toEqual([]);
  expect(await store.queue.list('alpha')).toEqual([]);

  // A commit for alpha completing a claim of beta.
  const betaBatch = await store.queue.enqueue(turnInputDraft('beta', 'beta work', 'earliest_safe_boundary', 'exclusive'));
  const betaLease = await claimLeaseForTest(store, 'beta', 'beta-owner');
  const betaClaim = await store.queue.claimReady({
    sessionId: 'beta', fence: leaseFence(betaLease), owner: betaLease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1,
  });
  expect(betaClaim!.batches.map((b) => b.batchId)).toEqual([betaBatch.batchId]);
  await expectTypedError(
    store.sessions.commit(underLease({ ...changed, completedQueueClaims: [queueClaimCompletion(betaClaim!)] }, alphaLease)),
    SessionBindingMismatchError,
    'SESSION_BINDING_MISMATCH',
  );
  await expectNothingWritten();
  expect((await store.queue.list('beta')).map((b) => b.batchId)).toEqual([betaBatch.batchId]);
  expect(await store.queue.listPending('beta')).toEqual([]);

  // Sessions are independent: beta commits under its own lease, alpha under its own.
  const betaCommit = await store.sessions.commit(
    underLease({ ...stateCommit('beta'), completedQueueClaims: [queueClaimCompletion(betaClaim!)] }, betaLease),
  );
  expect(betaCommit.headRevision).toBe(1);
  const alphaCommit = await store.sessions.commit(underLease(changed, alphaLease));
  expect(alphaCommit.headRevision).toBe(2);
  expect(await store.queue.list('beta')).toEqual([]);
});
