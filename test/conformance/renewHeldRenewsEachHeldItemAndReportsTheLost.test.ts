import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import type { SessionLease } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, TEST_TTL_MS, testOwner } from './support.js';

// A process's heartbeat in one call (beyond spec 02): every lease and claim it holds renewed as
// renew and renewClaim would, each lost item null without stopping the others.
conformance('renewHeldRenewsEachHeldItemAndReportsTheLost', async (store) => {
  const clock = store.clock;
  await store.queue.enqueue(turnInputDraft('a', 'one', 'after_current_turn_commit', 'exclusive'));
  await store.queue.enqueue(turnInputDraft('b', 'two', 'after_current_turn_commit', 'exclusive'));
  const a = await claimLeaseForTest(store, 'a', 'owner');
  const b = await claimLeaseForTest(store, 'b', 'owner');
  const claim = (lease: SessionLease) =>
    store.queue.claimReady({ sessionId: lease.sessionId, fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10 });
  const claimA = (await claim(a))!;
  const claimB = (await claim(b))!;

  clock.advance(TEST_TTL_MS / 2);
  const before = await store.clock.nowMs();
  const renewed = await store.leases.renewHeld({ ttlMs: TEST_TTL_MS, leases: [leaseFence(a), leaseFence(b)], claims: [claimA, claimB] });
  const after = await store.clock.nowMs();
  // Each expiry is store time during the call plus the TTL.
  for (const expiresAtMs of [...renewed.leases.map((l) => l!.expiresAtMs), ...renewed.claims.map((c) => c!.expiresAtMs)]) {
    expect(expiresAtMs).toBeGreaterThanOrEqual(before + TEST_TTL_MS);
    expect(expiresAtMs).toBeLessThanOrEqual(after + TEST_TTL_MS);
  }
  expect(renewed.leases.map((l) => l?.fencingToken)).toEqual([a.fencingToken, b.fencingToken]);
  expect(renewed.claims[0]!.batches.map((x) => x.batchId)).toEqual(claimA.batches.map((x) => x.batchId));
  // Renewed past the original expiry: still held there, by store time.
  clock.advance(TEST_TTL_MS * 0.75);
  expect((await store.leases.tryClaim('a', testOwner('other'), TEST_TTL_MS)).kind).toBe('busy');

  // b is lost: its lease released (and with it, for the next holder, its claim expires).
  await store.leases.release(leaseFence(b));
  const stale = { ...leaseFence(a), leaseToken: `${a.leaseToken}:stale` };
  const mixed = await store.leases.renewHeld({
    ttlMs: TEST_TTL_MS,
    leases: [leaseFence(a), leaseFence(b), stale],
    claims: [claimA, { ...claimB, claimToken: `${claimB.claimToken}:stale` }],
  });
  expect(mixed.leases.map((l) => l !== null)).toEqual([true, false, false]);
  expect(mixed.claims.map((c) => c !== null)).toEqual([true, false]);
  // The lost items changed nothing: b's lease stays released.
  expect((await store.leases.get('b'))!.leaseToken).toBe('');

  // Past the claim's TTL without renewal it is lost, though the lease is renewed alone.
  clock.advance(TEST_TTL_MS + 1);
  const late = await store.leases.renewHeld({ ttlMs: TEST_TTL_MS, leases: [leaseFence(a)], claims: [claimA] });
  expect(late).toEqual({ leases: [null], claims: [null] });

  // Nothing held: nothing to do. Bad input: typed, nothing changed.
  expect(await store.leases.renewHeld({ ttlMs: TEST_TTL_MS, leases: [], claims: [] })).toEqual({ leases: [], claims: [] });
  await expectTypedError(store.leases.renewHeld({ ttlMs: -1, leases: [leaseFence(a)], claims: [] }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.leases.renewHeld({ ttlMs: TEST_TTL_MS, leases: [{ sessionId: 'a' }] as never, claims: [] }), InvalidInputError, 'INVALID_INPUT');
  await expectTypedError(store.leases.renewHeld({ ttlMs: TEST_TTL_MS, leases: [], claims: 'x' as never }), InvalidInputError, 'INVALID_INPUT');
});
