import { expect } from 'vitest';
import { QueuedWorkClaimExpiredError } from '../../src/errors.js';
import { turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimReadyForTest, expectTypedError, TEST_TTL_MS } from './support.js';

// Twin of queued_work_claims_respect_boundaries_renewal_and_abandon.
conformance('queuedWorkClaimsRespectBoundariesRenewalAndAbandon', async (store) => {
  const afterCommit = await store.queue.enqueue(turnInputDraft('root', 'after current commit', 'after_current_turn_commit', 'exclusive'));
  const earliest = await store.queue.enqueue(turnInputDraft('root', 'earliest', 'earliest_safe_boundary', 'exclusive'));

  // After-commit work at the head waits for the idle boundary and blocks mid-turn delivery.
  expect(await claimReadyForTest(store, 'root', 'owner-a', { boundary: 'active_turn_checkpoint' })).toBeNull();
  expect(batchIds(await store.queue.listPending('root'))).toEqual([afterCommit.batchId, earliest.batchId]);

  const idleClaim = await claimReadyForTest(store, 'root', 'owner-a', { boundary: 'idle' });
  expect(idleClaim).not.toBeNull();
  expect(batchIds(idleClaim!.batches)).toEqual([afterCommit.batchId]);
  expect(idleClaim!.sessionId).toBe('root');
  expect(idleClaim!.owner.ownerId).toBe('owner-a');
  expect(idleClaim!.expiresAtMs).toBeGreaterThan(idleClaim!.claimedAtMs);
  expect(idleClaim!.claimToken.length).toBeGreaterThanOrEqual(22);

  const checkpointClaim = await claimReadyForTest(store, 'root', 'owner-b', { boundary: 'active_turn_checkpoint' });
  expect(checkpointClaim).not.toBeNull();
  expect(batchIds(checkpointClaim!.batches)).toEqual([earliest.batchId]);
  expect(checkpointClaim!.claimId).not.toBe(idleClaim!.claimId);
  expect(checkpointClaim!.claimToken).not.toBe(idleClaim!.claimToken);

  await store.queue.abandonClaim(idleClaim!);
  // An abandoned claim cannot be renewed.
  await expectTypedError(store.queue.renewClaim(idleClaim!, TEST_TTL_MS), QueuedWorkClaimExpiredError, 'QUEUED_WORK_CLAIM_EXPIRED');
  const reclaimed = await claimReadyForTest(store, 'root', 'owner-c', { boundary: 'idle' });
  expect(reclaimed).not.toBeNull();
  expect(reclaimed!.batches[0]!.batchId).toBe(afterCommit.batchId);
  expect(reclaimed!.fencingToken).toBeGreaterThan(idleClaim!.fencingToken);
  // Abandoning an already abandoned claim touches nothing (the batch now belongs to owner-c).
  await store.queue.abandonClaim(idleClaim!);
  expect(await store.queue.listPending('root')).toEqual([]);

  const renewed = await store.queue.renewClaim(reclaimed!, TEST_TTL_MS);
  expect(renewed.claimId).toBe(reclaimed!.claimId);
  expect(renewed.claimToken).toBe(reclaimed!.claimToken);
  expect(renewed.fencingToken).toBe(reclaimed!.fencingToken);
  expect(renewed.batches[0]!.batchId).toBe(reclaimed!.batches[0]!.batchId);
  expect(renewed.expiresAtMs).toBeGreaterThanOrEqual(reclaimed!.expiresAtMs);

  // A forged claim token cannot renew.
  await expectTypedError(
    store.queue.renewClaim({ ...reclaimed!, claimToken: `${reclaimed!.claimToken}:stale` }, TEST_TTL_MS),
    QueuedWorkClaimExpiredError,
    'QUEUED_WORK_CLAIM_EXPIRED',
  );
});
