/**
 * A poison input that ends its worker process, end to end: real worker processes (the demo agent,
 * whose `!exit` input calls process.exit mid-turn) kept at two by a supervisor, as a process
 * manager would, against their own database and BullMQ prefix. The `!exit` input shares a worker
 * with other sessions' slow turns. Its first crash interrupts them; from then on it runs alone
 * (src/runtime/isolation.ts), so it is dead-lettered after MAX_ATTEMPTS crashes while every other
 * batch completes, interrupted at most once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INTERRUPTED_TURN } from '../../src/store/reasons.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture } from '../helpers/runtime.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';

let fixture: RuntimeFixture | undefined;
const workers: WorkerProcess[] = [];
let supervising = false;

afterEach(async () => {
  supervising = false;
  await Promise.all(workers.map((w) => w.stop()));
  workers.length = 0;
  await fixture?.cleanup();
  fixture = undefined;
});

/** Keeps `count` workers alive until `supervising` turns false; resolves then. */
async function supervise(env: Record<string, string>, count: number): Promise<void> {
  supervising = true;
  while (supervising) {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    if (live.length < count) workers.push(await startWorkerProcess(env));
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a poison input that exits its worker process', () => {
  it('is dead-lettered after MAX_ATTEMPTS crashes; the sessions it shared a worker with lose no batch and are interrupted at most once', async () => {
    const f = (fixture = await createRuntimeFixture());
    // Slow turns (2 steps of 300 ms) so the other sessions' turns are in flight when the poison runs.
    const env = f.env({ MAX_ATTEMPTS: '3', DEMO_THINK_MS: '300', ISOLATE_SUSPECT_TURNS: '1' });
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(env));
    const supervisor = supervise(env, 2);

    const innocent = Array.from({ length: 8 }, (_, i) => `slow-${i}`);
    for (const s of innocent) {
      await f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m0` });
      await f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m1` });
    }
    // Every innocent session is mid-turn on one of the two workers before the poison arrives.
    await waitFor(async () => (await Promise.all(innocent.map((s) => f.store.leases.get(s)))).every((l) => Boolean(l?.leaseToken)), 10_000, 'every slow session to be leased');
    const poison = await f.producer.enqueueTurnInput({ sessionId: 'poison', text: 'please !exit' });

    await waitFor(() => queueIsEmpty(f.store, [...innocent, 'poison']), 60_000, 'every queue to drain');
    supervising = false;
    await supervisor;

    const letters = await f.store.queue.listDeadLetters();
    expect(letters.map((l) => [l.batchId, l.attempts, l.reason])).toEqual([[poison.batchId, 3, INTERRUPTED_TURN]]);
    const crashes = workers.filter((w) => w.child.exitCode === 86).length;
    expect(crashes).toBe(3);

    // Every innocent input was heard once, in order; each committed turn says how many times its
    // batch had been interrupted before (the demo agent never throws, so attempts are interruptions).
    for (const s of innocent) {
      const read = await f.store.sessions.load(s, { kind: 'full_graph' });
      const users = (read?.graph.nodes ?? []).flatMap((n) => (n.payload.kind === 'message' && n.payload.role === 'user' ? [String((n.payload.parts[0] as { text: string }).text)] : []));
      expect(users).toEqual([`${s}/m0`, `${s}/m1`]);
    }
    // A worker that exits can take its last reports with it (IPC is not flushed by process.exit).
    const interruptions = workers.flatMap((w) => w.messages).flatMap((m) => (m.type === 'turn' && innocent.includes(m.sessionId) ? m.attempts : []));
    expect(interruptions.length).toBeGreaterThan(innocent.length);
    // The poison did share a worker with slow turns: its first crash interrupted some of them once…
    expect(interruptions.filter((n) => n === 1).length).toBeGreaterThan(0);
    // …and none more than once.
    expect(interruptions.filter((n) => n > 1)).toEqual([]);
  }, 120_000);
});
