import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import { leaseCompletion, leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { expectTypedError, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

// From seed 004: the lease owner identity is (ownerId, incarnationId); a restarted process with the
// same ownerId is another holder. Liveness is not part of identity.
conformance('leaseOwnerIncarnationIsPartOfIdentity', async (store) => {
  const original = testOwner('worker-1', 'incarnation-a');
  const restarted = testOwner('worker-1', 'incarnation-b');

  const acquired = await store.leases.tryClaim('root', original, TEST_TTL_MS);
  if (acquired.kind !== 'acquired') throw new Error('expected the first claim to acquire');
  const lease = acquired.lease;

  // Same ownerId, another incarnation: busy, and the holder is the original incarnation.
  const busy = await store.leases.tryClaim('root', restarted, TEST_TTL_MS);
  expect(busy.kind).toBe('busy');
  if (busy.kind === 'busy') {
    expect(busy.holder.owner.incarnationId).toBe('incarnation-a');
    expect(busy.holder.leaseToken).toBe(lease.leaseToken);
  }

  // Same ownerId and incarnation with a different liveness record is a re-entry.
  const reentry = await store.leases.tryClaim('root', { ...original, liveness: { kind: 'opaque' } }, TEST_TTL_MS);
  expect(reentry.kind).toBe('acquired');
  if (reentry.kind === 'acquired') {
    expect(reentry.lease.leaseToken).toBe(lease.leaseToken);
    expect(reentry.lease.fencingToken).toBe(lease.fencingToken);
  }

  // A fence or completion with the right token and fencing but another incarnation proves nothing.
  const foreignFence = { ...leaseFence(lease), owner: restarted };
  await expectTypedError(store.leases.renew(foreignFence, TEST_TTL_MS), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
  await store.queue.enqueue(turnInputDraft('root', 'work', 'earliest_safe_boundary', 'exclusive'));
  await expectTypedError(
    store.queue.claimReady({ sessionId: 'root', fence: foreignFence, owner: restarted, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 1 }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  await expectTypedError(
    store.sessions.commit({ ...stateCommit('root'), leaseFence: foreignFence }),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );
  expect(await store.sessions.load('root', { kind: 'full_graph' })).toBeNull();
  expect(await store.queue.listPending('root')).toHaveLength(1);
  // Another ownerId with the right incarnation is no better.
  await expectTypedError(
    store.leases.renew({ ...leaseFence(lease), owner: testOwner('worker-2', 'incarnation-a') }, TEST_TTL_MS),
    SessionLeaseExpiredError,
    'SESSION_LEASE_EXPIRED',
  );

  await store.leases.release({ ...leaseCompletion(lease), owner: restarted });
  expect((await store.leases.tryClaim('root', restarted, TEST_TTL_MS)).kind).toBe('busy');

  // The original incarnation still holds a working fence.
  const renewed = await store.leases.renew(leaseFence(lease), TEST_TTL_MS);
  expect(renewed.fencingToken).toBe(lease.fencingToken);
  const committed = await store.sessions.commit(underLease(stateCommit('root'), lease));
  expect(committed.headRevision).toBe(1);

  // Once released, the restarted incarnation acquires as a new holder.
  const next = await store.leases.tryClaim('root', restarted, TEST_TTL_MS);
  expect(next.kind).toBe('acquired');
  if (next.kind === 'acquired') {
    expect(next.lease.owner.incarnationId).toBe('incarnation-b');
    expect(next.lease.fencingToken).toBeGreaterThan(lease.fencingToken);
    expect(next.lease.leaseToken).not.toBe(lease.leaseToken);
  }
});
