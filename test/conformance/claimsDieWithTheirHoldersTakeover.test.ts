import { expect } from 'vitest';
import { QueuedWorkClaimExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, expectTypedError, testOwner } from './support.js';

const LEASE_TTL_MS = 1_000;
const CLAIM_TTL_MS = 5_000;

// Beyond the seed. A holder taken over without releasing (its lease expired, or it was handed
// over) loses its claims on the session's batches: its fence is stale, so they can never be
// completed, and while held they would hide the queue head from the successor, who would run
// later input first. A clean release keeps claims (the seed's scenarios release leases while
// their claims stay held).
conformance('claimsDieWithTheirHoldersTakeover', async (store) => {
  const first = await store.queue.enqueue(turnInputDraft('root', 'first', 'after_current_turn_commit', 'exclusive'));
  const second = await store.queue.enqueue(turnInputDraft('root', 'second', 'after_current_turn_commit', 'exclusive'));
  const ownerA = testOwner('owner-a');
  const ownerB = testOwner('owner-b');

  // A claims the head with a claim that outlives its lease, then stops renewing.
  const leaseA = await claimLeaseForTest(store, 'root', ownerA, LEASE_TTL_MS);
  const claimA = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseA), owner: ownerA, boundary: 'idle', ttlMs: CLAIM_TTL_MS, maxBatches: 1 });
  expect(batchIds(claimA!.batches)).toEqual([first.batchId]);
  store.clock.advance(LEASE_TTL_MS);

  // B takes the expired lease over: A's claim is gone, so B's first claim is the head, in order.
  const leaseB = await claimLeaseForTest(store, 'root', ownerB, CLAIM_TTL_MS);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([first.batchId, second.batchId]);
  await expectTypedError(store.queue.renewClaim(claimA!, CLAIM_TTL_MS), QueuedWorkClaimExpiredError, 'QUEUED_WORK_CLAIM_EXPIRED');
  const claimB = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseB), owner: ownerB, boundary: 'idle', ttlMs: CLAIM_TTL_MS, maxBatches: 1 });
  expect(batchIds(claimB!.batches)).toEqual([first.batchId]);
  expect(claimB!.fencingToken).toBeGreaterThan(claimA!.fencingToken);

  // A transfer hands the session over: B's claim dies with B's hold on it.
  const ownerC = testOwner('owner-c');
  const leaseC = await store.leases.transfer(leaseFence(leaseB), ownerC, CLAIM_TTL_MS);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([first.batchId, second.batchId]);

  // A clean release keeps the releasing holder's claims held.
  const claimC = await store.queue.claimReady({ sessionId: 'root', fence: leaseFence(leaseC), owner: ownerC, boundary: 'idle', ttlMs: CLAIM_TTL_MS, maxBatches: 1 });
  expect(batchIds(claimC!.batches)).toEqual([first.batchId]);
  await store.leases.release(leaseCompletion(leaseC));
  await claimLeaseForTest(store, 'root', ownerA, CLAIM_TTL_MS);
  expect(batchIds(await store.queue.listPending('root'))).toEqual([second.batchId]);
  const renewed = await store.queue.renewClaim(claimC!, CLAIM_TTL_MS);
  expect(renewed.claimId).toBe(claimC!.claimId);
});
