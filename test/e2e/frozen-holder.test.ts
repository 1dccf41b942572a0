/**
 * A lease holder that is alive but frozen (SIGSTOP) is not dead: no same-host rescue applies, and
 * its session must be taken over by another worker once the lease expires, within about the lease
 * TTL plus a few seconds (spec 06, chaos zombie). Two ways a frozen process held its sessions
 * much longer, each reproduced here with real worker processes:
 * - delivery: the session's only job stays active in the frozen process until BullMQ's job lock
 *   (10 s) lapses; the reconciler's wake-up job hands it to a live worker (src/runtime/reconciler.ts);
 * - Postgres: frozen between two statements of a transaction, the holder kept its row locks for
 *   as long as it stayed frozen, and the successor's takeover waited on them. The heartbeat's
 *   renewals are single statements now (no transaction to freeze in), and every store connection
 *   has idle_in_transaction_session_timeout = the lease TTL for the transactions that remain
 *   (test/integration/idle-in-transaction.test.ts).
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture, transcriptOf } from '../helpers/runtime.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';

const LEASE_TTL_MS = 1000;
/**
 * BullMQ's stalled check, which alone would hand the frozen holder's job on once its 10 s lock
 * lapsed, runs only this often: never within the test. So a successor that drains the session
 * while that job is still active in the frozen process got it through the reconciler's wake-up
 * job, with no wall-clock bound to assert (STYLE rule 11).
 */
const STALLED_INTERVAL_MS = 600_000;

let fixture: RuntimeFixture | undefined;
const workers: WorkerProcess[] = [];

afterEach(async () => {
  for (const w of workers) w.kill('SIGCONT');
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fixture?.cleanup();
  fixture = undefined;
});

async function holderOf(store: RuntimeStore, sessionId: string, among: WorkerProcess[]): Promise<WorkerProcess | undefined> {
  const lease = await store.leases.get(sessionId);
  return among.find((w) => lease?.leaseToken && lease.owner.ownerId === `${hostname()}:${w.pid}`);
}


/** Two workers; one input for `sessionId`; resolves with the worker holding its lease mid-turn and that lease. */
async function startAndHold(f: RuntimeFixture, env: Record<string, string>, sessionId: string) {
  for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(env));
  await f.producer.enqueueTurnInput({ sessionId, text: 'only' });
  let holder: WorkerProcess | undefined;
  await waitFor(async () => Boolean((holder = await holderOf(f.store, sessionId, workers))), 10_000, 'a worker to take the lease');
  return { holder: holder!, successor: workers.find((w) => w !== holder)!, before: (await f.store.leases.get(sessionId))! };
}

describe('a frozen lease holder', () => {
  it('loses a session whose only job it holds once the lease expires, without waiting for BullMQ', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    // A long turn, so the holder is frozen mid-turn; BullMQ's job lock stays at its 10 s default.
    const env = f.env({ LEASE_TTL_MS: String(LEASE_TTL_MS), DEMO_THINK_MS: '2000', RECONCILE_INTERVAL_MS: '500', STALLED_INTERVAL_MS: String(STALLED_INTERVAL_MS), LOG_LEVEL: 'fatal' });
    const s = 'frozen-only-job';
    const { holder, successor, before } = await startAndHold(f, env, s);
    const [batch] = await f.store.queue.list(s);
    holder.kill('SIGSTOP');

    await waitFor(() => queueIsEmpty(f.store, [s]), 60_000, 'another worker to drain the session of the frozen holder');
    const after = (await f.store.leases.get(s))!;
    expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
    expect(after.owner.ownerId).toBe(`${hostname()}:${successor.pid}`);
    // The batch's own job is still active in the frozen process: the successor was woken by the reconciler.
    expect(await f.queue.getJobState(batch!.batchId)).toBe('active');

    holder.kill('SIGCONT');
    // The thawed holder finds its lease gone, commits nothing and keeps serving: new input, one
    // session at a time, until the thawed holder has committed a turn of its own (a condition, not
    // a sleep, says it is running again).
    let n = 0;
    await waitFor(
      async () => {
        if (holder.messages.some((m) => m.type === 'turn' && m.sessionId.startsWith('after-thaw-'))) return true;
        await f.producer.enqueueTurnInput({ sessionId: `after-thaw-${n++}`, text: 'ok' });
        return false;
      },
      60_000,
      'the thawed holder to serve new input',
    );
    expect(holder.child.exitCode).toBeNull();
    expect(holder.messages.filter((m) => m.type === 'turn' && m.sessionId === s)).toEqual([]);
    expect(await transcriptOf(f.store, s)).toEqual({ users: ['only'], assistants: 1, head: 1 });
  }, 180_000);
});
