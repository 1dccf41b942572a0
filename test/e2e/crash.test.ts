/**
 * Crash recovery with real worker processes: SIGKILL in a loop, Redis losing all its data, and a
 * lease holder frozen past its TTL. After each run, every accepted batch is completed (none lost,
 * none completed twice), head revisions run 1..n and fencing tokens never go back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture, transcriptOf } from '../helpers/runtime.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';

const SESSIONS = Number(process.env.CRASH_SESSIONS ?? 50);
const INPUTS_PER_SESSION = Number(process.env.CRASH_INPUTS ?? 10);

let fixture: RuntimeFixture | undefined;
const workers: WorkerProcess[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fixture?.cleanup();
  fixture = undefined;
});


/** LOST = 0, DUP = 0, head revisions without gap, fencing tokens never decreasing along revisions. */
async function checkInvariants(f: RuntimeFixture, sessions: string[], expected: (s: string) => string[], seen: WorkerProcess[]): Promise<void> {
  for (const s of sessions) {
    expect(await f.store.queue.list(s)).toEqual([]);
    const { users, assistants, head } = await transcriptOf(f.store, s);
    expect(users).toEqual(expected(s));
    // Each commit of the demo agent appends exactly one assistant reply: revisions 1..head, no gap, no repeat.
    expect(assistants).toBe(head);
  }
  expect(await f.store.queue.listDeadLetters()).toEqual([]);
  const bySession = new Map<string, Array<{ rev: number; fence: number }>>();
  for (const w of seen)
    for (const m of w.messages)
      if (m.type === 'turn') bySession.set(m.sessionId, [...(bySession.get(m.sessionId) ?? []), { rev: m.headRevision, fence: m.fencingToken }]);
  for (const commits of bySession.values()) {
    commits.sort((a, b) => a.rev - b.rev);
    const revs = commits.map((c) => c.rev);
    expect(new Set(revs).size).toBe(revs.length);
    for (let i = 1; i < commits.length; i++) expect(commits[i]!.fence).toBeGreaterThanOrEqual(commits[i - 1]!.fence);
  }
}

async function enqueueAll(f: RuntimeFixture, sessions: string[]): Promise<void> {
  for (let i = 0; i < INPUTS_PER_SESSION; i++) {
    await Promise.all(sessions.map((s) => f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m${i}`, sourceKey: `m${i}` })));
  }
}

const inputsOf = (s: string) => Array.from({ length: INPUTS_PER_SESSION }, (_, i) => `${s}/m${i}`);

describe('crash recovery', () => {
  it(`survives SIGKILL of workers in a loop over ${SESSIONS * INPUTS_PER_SESSION} turns`, async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const env = f.env({ DEMO_THINK_MS: '15', LEASE_TTL_MS: '2000', LOG_LEVEL: 'fatal' });
    const all: WorkerProcess[] = [];
    for (let i = 0; i < 3; i++) all.push(await startWorkerProcess(env));
    workers.push(...all);
    const sessions = Array.from({ length: SESSIONS }, (_, i) => `kill-${i}`);
    const producing = enqueueAll(f, sessions);
    let kills = 0;
    const killer = (async () => {
      while (!(await queueIsEmpty(f.store, sessions)) || kills < 3) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
        const victim = live[Math.floor(Math.random() * live.length)];
        if (!victim) continue;
        victim.kill('SIGKILL');
        await victim.exited;
        kills++;
        workers.splice(workers.indexOf(victim), 1);
        const replacement = await startWorkerProcess(env);
        workers.push(replacement);
        all.push(replacement);
        if (kills > 200) break;
      }
    })();
    await producing;
    await waitFor(() => queueIsEmpty(f.store, sessions), 150_000, 'every session to drain under SIGKILL');
    await killer;
    expect(kills).toBeGreaterThanOrEqual(3);
    await checkInvariants(f, sessions, inputsOf, all);
  }, 240_000);

  it('restores delivery through the reconciler after Redis loses all its data', async () => {
    // Its own Redis database, so FLUSHDB touches no other test.
    fixture = await createRuntimeFixture({ redisUrl: 'redis://127.0.0.1:6379/7' });
    const f = fixture;
    const flusher = new Redis('redis://127.0.0.1:6379/7');
    // Jobs vanishing under a worker make BullMQ log 'Missing key' errors: expected here.
    const env = f.env({ DEMO_THINK_MS: '15', RECONCILE_INTERVAL_MS: '500', LOG_LEVEL: 'fatal' });
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(env));
    const sessions = Array.from({ length: 20 }, (_, i) => `flush-${i}`);
    const producing = enqueueAll(f, sessions);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await flusher.flushdb();
    }
    await producing;
    await waitFor(() => queueIsEmpty(f.store, sessions), 60_000, 'every session to drain after FLUSHDB');
    flusher.disconnect();
    await checkInvariants(f, sessions, inputsOf, workers);
  }, 120_000);

  it('rejects the late work of a lease holder frozen past its TTL, which then recovers', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const env = f.env({ DEMO_THINK_MS: '1500', LEASE_TTL_MS: '1200' });
    const a = await startWorkerProcess(env);
    workers.push(a);
    const s = 'zombie';
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'first' });
    await waitFor(async () => Boolean((await f.store.leases.get(s))?.leaseToken), 5000, 'the first worker to take the lease');
    const before = (await f.store.leases.get(s))!;
    a.kill('SIGSTOP');
    const b = await startWorkerProcess(env);
    workers.push(b);
    // Input for the frozen session wakes the second worker, which waits out the TTL and drains both.
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'second' });
    // Generous: under a loaded test run the successor's wake-ups and BullMQ's stalled check are slow.
    await waitFor(() => queueIsEmpty(f.store, [s]), 45_000, 'the successor to drain the session');
    const after = (await f.store.leases.get(s))!;
    expect(after.fencingToken).toBeGreaterThan(before.fencingToken);
    a.kill('SIGCONT');
    // Let the zombie wake up, find its lease gone and give up its turn.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(a.child.exitCode).toBeNull();
    const { users, assistants, head } = await transcriptOf(f.store, s);
    expect(users).toEqual(['first', 'second']);
    expect(assistants).toBe(head);
    expect(a.messages.filter((m) => m.type === 'turn')).toEqual([]);
    // The zombie is still a working worker.
    await f.producer.enqueueTurnInput({ sessionId: 'after-zombie', text: 'ok' });
    await waitFor(() => queueIsEmpty(f.store, ['after-zombie']), 20_000, 'the recovered workers to serve new input');
  }, 120_000);

  it('rescues the sessions of a SIGKILLed worker on the same host before their leases expire', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    // A long TTL: only the same-host rescue (reclaim of a provably dead holder) can take a session
    // over before its lease expires. Worker A thinks far longer than the test lasts, so it is
    // mid-turn when killed however slow the machine (with 800 ms it could finish first: no takeover).
    const env = f.env({ DEMO_THINK_MS: '5', LEASE_TTL_MS: '60000', RECONCILE_INTERVAL_MS: '0', STALLED_INTERVAL_MS: '5000', LOG_LEVEL: 'fatal' });
    const a = await startWorkerProcess({ ...env, DEMO_THINK_MS: '600000' });
    workers.push(a);
    const sessions = ['rescue-0', 'rescue-1', 'rescue-2'];
    for (const s of sessions) await f.producer.enqueueTurnInput({ sessionId: s, text: 'long turn' });
    await waitFor(async () => (await Promise.all(sessions.map((s) => f.store.leases.get(s)))).every((l) => Boolean(l?.leaseToken)), 60_000, 'worker A to hold every session');
    const before = await Promise.all(sessions.map((s) => f.store.leases.get(s)));
    const b = await startWorkerProcess(env);
    workers.push(b);
    // A's leases as last renewed before the kill: an expiry takeover could happen only after these.
    const renewed = await Promise.all(sessions.map((s) => f.store.leases.get(s)));
    a.kill('SIGKILL');
    await a.exited;
    await waitFor(() => queueIsEmpty(f.store, sessions), 120_000, 'worker B to finish the rescued sessions');
    for (const [i, s] of sessions.entries()) {
      const { users, assistants, head } = await transcriptOf(f.store, s);
      expect(users).toEqual(['long turn']);
      expect(assistants).toBe(head);
      const rescued = b.messages.find((m) => m.type === 'takeover' && m.sessionId === s);
      expect(rescued?.type === 'takeover' && rescued.fencingToken).toBe(before[i]!.fencingToken + 1);
    }
    // Taken over before A's leases expired (store time, no wall-clock bound): only the rescue can do that.
    const after = await Promise.all(sessions.map((s) => f.store.leases.get(s)));
    for (const [i, lease] of after.entries()) expect(lease!.claimedAtMs).toBeLessThan(renewed[i]!.expiresAtMs);
  }, 240_000);
});
