import { expect } from 'vitest';
import { TurnCommitConflictError } from '../../src/errors.js';
import { leaseCompletion } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, minimalState, stamped, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

// Twin of final_commit_stamp_is_idempotent_and_conflicts_on_changed_hash.
conformance('finalCommitStampIsIdempotentAndConflictsOnChangedHash', async (store) => {
  const commit = stateCommit('root');
  const hash = turnCommitHash(commit);
  const stampedCommit = stamped(commit, 'provider-turn');

  const lease = await claimLeaseForTest(store, 'root', 'provider-turn');
  const first = await store.sessions.commit(underLease(stampedCommit, lease));
  expect(first.headRevision).toBe(1);
  // The same final commit retries idempotently without a live lease.
  const retry = await store.sessions.commit(stampedCommit);
  expect(retry.headRevision).toBe(first.headRevision);
  expect(retry.checkpointRef).toBe(first.checkpointRef);
  expect(retry.enqueuedBatches).toEqual(first.enqueuedBatches);

  // Turn commit identity does not depend on the CAS revision.
  const retryFromNewHead = { ...stateCommit('root'), expectedHeadRevision: first.headRevision };
  expect(turnCommitHash(retryFromNewHead)).toBe(hash);
  const replayFromNewHead = await store.sessions.commit({ ...retryFromNewHead, turnStamp: { sessionId: 'root', turnId: 'provider-turn', hash } });
  expect(replayFromNewHead).toEqual(retry);

  // A replay that asks for a release performs the guarded release.
  const replayLease = await claimLeaseForTest(store, 'root', 'replayer');
  const releasingReplay = await store.sessions.commit({ ...stampedCommit, releaseLease: leaseCompletion(replayLease) });
  expect(releasingReplay.headRevision).toBe(first.headRevision);
  expect((await store.leases.tryClaim('root', testOwner('after-replay'), TEST_TTL_MS)).kind).toBe('acquired');

  // The same turn id with a different hash conflicts, even without a lease, and writes nothing.
  const changed = stateCommit('root', minimalState({ checkpoint: { turnIndex: 1 } }));
  await expectTypedError(store.sessions.commit(stamped(changed, 'provider-turn')), TurnCommitConflictError, 'TURN_COMMIT_CONFLICT');
  const read = await store.sessions.load('root', { kind: 'full_graph' });
  expect(read!.headRevision).toBe(1);
  expect(read!.checkpoint!.turnIndex).toBe(0);
});
