/**
 * The reconciler's wake-up job (src/runtime/reconciler.ts): a session whose lease expired without a
 * release gets one more job for its head batch, under its own id, once per stopped holder; a live
 * or released lease gets none. Postgres store and real Redis, in their own namespace; time is the
 * store clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseOwner, SessionLease } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { reconcileOnce, wakeUpJobId } from '../../src/runtime/reconciler.js';
import { silentLogger } from '../../src/logger.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';

const frozen: LeaseOwner = { ownerId: 'frozen-host:1', incarnationId: 'frozen-incarnation' };

let fixture: RuntimeFixture | undefined;

afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

async function hold(f: RuntimeFixture, sessionId: string, ttlMs: number): Promise<SessionLease> {
  const claimed = await f.store.leases.tryClaim(sessionId, frozen, ttlMs);
  if (claimed.kind !== 'acquired') throw new Error(`expected to acquire ${sessionId}`);
  return claimed.lease;
}

const reconcile = (f: RuntimeFixture) => reconcileOnce({ store: f.store, queue: f.queue, producer: f.producer, log: silentLogger() });

describe('reconciler wake-up jobs', () => {
  it('wakes a session whose holder stopped renewing, once per holder, and no session that is live or released', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const stopped = await hold(f, 'stopped-holder', 1000);
    await hold(f, 'live-holder', 60_000);
    const released = await hold(f, 'released', 1000);
    await f.store.leases.release(leaseFence(released));
    const head = await f.producer.enqueueTurnInput({ sessionId: 'stopped-holder', text: 'first' });
    await f.producer.enqueueTurnInput({ sessionId: 'stopped-holder', text: 'second' });
    await f.producer.enqueueTurnInput({ sessionId: 'live-holder', text: 'x' });
    await f.producer.enqueueTurnInput({ sessionId: 'released', text: 'y' });
    // Nobody runs these jobs (no worker): they stay waiting, as behind a swallowed wake-up marker.

    expect((await reconcile(f)).woken).toBe(0);
    f.store.clock.advance(1500);

    const first = await reconcile(f);
    expect(first).toMatchObject({ published: 0, republished: 0, deadLettered: 0, woken: 1 });
    const wake = await f.queue.getJob(wakeUpJobId(head.batchId, stopped.fencingToken));
    expect(wake?.data).toEqual({ sessionId: 'stopped-holder', batchId: head.batchId });
    expect(await wake!.getState()).toBe('waiting');
    // Exactly one extra job: the wake-up of the stopped holder's session.
    expect(await f.queue.getJobCountByTypes('waiting')).toBe(5);

    // The same stopped holder is not woken twice.
    expect((await reconcile(f)).woken).toBe(0);

    // A new holder that stops too gets its own wake-up.
    const next = await hold(f, 'stopped-holder', 1000);
    expect(next.fencingToken).toBe(stopped.fencingToken + 1);
    f.store.clock.advance(1500);
    expect((await reconcile(f)).woken).toBe(1);
    expect(await f.queue.getJob(wakeUpJobId(head.batchId, next.fencingToken))).toBeTruthy();
  });
});
