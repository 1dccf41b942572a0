import { expect } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import { leaseCompletion } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, testOwner } from './support.js';

const TTL_MS = 1_000;
const here = (pid: number) => ({ kind: 'local_process' as const, hostId: 'host-a', bootId: 'boot-1', pid, processStartTicks: '100' });

// Beyond the seed. A worker's same-host rescue asks for the live leases held by local processes of
// its host and boot: released, expired, opaque and foreign-host leases stay out of the answer.
conformance('liveLeasesOnAHostAreListedForRescue', async (store) => {
  const held = await claimLeaseForTest(store, 's-held', testOwner('w1', 'i1', here(11)), TTL_MS);
  await claimLeaseForTest(store, 's-other-host', testOwner('w2', 'i2', { ...here(12), hostId: 'host-b' }), TTL_MS);
  await claimLeaseForTest(store, 's-other-boot', testOwner('w3', 'i3', { ...here(13), bootId: 'boot-0' }), TTL_MS);
  await claimLeaseForTest(store, 's-opaque', testOwner('w4', 'i4', { kind: 'opaque' }), TTL_MS);
  const released = await claimLeaseForTest(store, 's-released', testOwner('w5', 'i5', here(15)), TTL_MS);
  await store.leases.release(leaseCompletion(released));
  const also = await claimLeaseForTest(store, 's-also', testOwner('w6', 'i6', here(16)), TTL_MS);

  const listed = await store.leases.listLiveOnHost({ hostId: 'host-a', bootId: 'boot-1', limit: 10 });
  expect(listed.map((l) => [l.sessionId, l.leaseToken, l.fencingToken])).toEqual([
    ['s-also', also.leaseToken, also.fencingToken],
    ['s-held', held.leaseToken, held.fencingToken],
  ]);
  expect((await store.leases.listLiveOnHost({ hostId: 'host-a', bootId: 'boot-1', limit: 1 })).map((l) => l.sessionId)).toEqual(['s-also']);

  store.clock.advance(TTL_MS);
  expect(await store.leases.listLiveOnHost({ hostId: 'host-a', bootId: 'boot-1', limit: 10 })).toEqual([]);
  await expectTypedError(store.leases.listLiveOnHost({ hostId: 'host-a', bootId: 'boot-1', limit: 0 }), InvalidInputError, 'INVALID_INPUT');
});
