/**
 * A poison input that ends its process, end to end: a real worker process (the demo agent, whose
 * `!exit` input calls process.exit mid-turn) kept alive by a supervisor, as a process manager
 * would, against its own database and BullMQ prefix. The `!exit` input shares the worker with
 * other sessions' slow turns (one worker with slots for all of them: with two, the poison could
 * land on the worker whose slots held none of them). In each TURN_SANDBOX mode it is dead-lettered after MAX_ATTEMPTS
 * while every other batch completes:
 * - `off`: its first crash ends the worker and interrupts the others, charging nobody (nobody ran
 *   alone); from then on it runs alone (src/runtime/isolation.ts), each crash charged to it, and
 *   ends the worker three times more;
 * - `suspects`: its first crash ends the worker, charging nobody; from then on it runs in a
 *   sandbox process (src/runtime/sandbox/pool.ts), which is all it ends;
 * - `all`: every turn runs in a sandbox process: no worker ever ends, nobody else is interrupted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INTERRUPTED_TURN, PROCESS_EXITED } from '../../src/store/reasons.js';
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

interface Outcome {
  reason: string;
  attempts: number;
  workerCrashes: number;
  /** Per batch of each committed innocent turn: the failed attempts counted on it before (the demo agent never throws, so only charged interruptions). */
  interruptions: number[];
}

/** Runs 8 slow sessions and one `!exit` input on one supervised worker in `mode`; checks that nothing innocent was lost. */
async function poisonRun(mode: 'off' | 'suspects' | 'all'): Promise<Outcome> {
  const f = (fixture = await createRuntimeFixture());
  // Slow turns (2 steps of 300 ms) so the other sessions' turns are in flight when the poison runs.
  const env = f.env({ MAX_ATTEMPTS: '3', DEMO_THINK_MS: '300', ISOLATE_SUSPECT_TURNS: '1', TURN_SANDBOX: mode, WORKER_CONCURRENCY: '12' });
  workers.push(await startWorkerProcess(env));
  const supervisor = supervise(env, 1);

  const innocent = Array.from({ length: 8 }, (_, i) => `slow-${i}`);
  for (const s of innocent) {
    await f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m0` });
    await f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m1` });
  }
  // Every innocent session is mid-turn before the poison arrives.
  await waitFor(async () => (await Promise.all(innocent.map((s) => f.store.leases.get(s)))).every((l) => Boolean(l?.leaseToken)), 10_000, 'every slow session to be leased');
  const poison = await f.producer.enqueueTurnInput({ sessionId: 'poison', text: 'please !exit' });

  await waitFor(() => queueIsEmpty(f.store, [...innocent, 'poison']), 180_000, 'every queue to drain');
  supervising = false;
  await supervisor;

  const letters = await f.store.queue.listDeadLetters();
  expect(letters.map((l) => l.batchId)).toEqual([poison.batchId]);
  // Every innocent input was heard once, in order.
  for (const s of innocent) {
    const read = await f.store.sessions.load(s, { kind: 'full_graph' });
    const users = (read?.graph.nodes ?? []).flatMap((n) => (n.payload.kind === 'message' && n.payload.role === 'user' ? [String((n.payload.parts[0] as { text: string }).text)] : []));
    expect(users).toEqual([`${s}/m0`, `${s}/m1`]);
  }
  // A worker that exits can take its last reports with it (IPC is not flushed by process.exit).
  // The demo agent never throws, so an innocent turn's attempts are charged interruptions.
  const interruptions = workers.flatMap((w) => w.messages).flatMap((m) => (m.type === 'turn' && innocent.includes(m.sessionId) ? m.attempts : []));
  expect(interruptions.length).toBeGreaterThan(innocent.length);
  return { reason: letters[0]!.reason, attempts: letters[0]!.attempts, workerCrashes: workers.filter((w) => w.child.exitCode === 86).length, interruptions };
}

describe('a poison input that exits its process', () => {
  it('TURN_SANDBOX=off: ends its worker MAX_ATTEMPTS + 1 times, charged only while it ran alone; the others are never charged', async () => {
    const run = await poisonRun('off');
    expect([run.attempts, run.reason, run.workerCrashes]).toEqual([3, INTERRUPTED_TURN, 4]);
    // Its first crash ran shared: it interrupted slow turns but charged none of them (nor itself).
    expect(run.interruptions.filter((n) => n > 0)).toEqual([]);
  }, 240_000);

  it('TURN_SANDBOX=suspects: ends its worker once, then only its sandbox process; the others are never charged', async () => {
    const run = await poisonRun('suspects');
    expect(run.attempts).toBe(3);
    expect(run.reason).toMatch(new RegExp(`^${PROCESS_EXITED} .*exited with code 86`));
    expect(run.workerCrashes).toBe(1);
    expect(run.interruptions.filter((n) => n > 0)).toEqual([]);
  }, 240_000);

  it('TURN_SANDBOX=all: ends only sandbox processes; no worker ends and no other turn is interrupted', async () => {
    const run = await poisonRun('all');
    expect(run.attempts).toBe(3);
    expect(run.reason).toMatch(new RegExp(`^${PROCESS_EXITED} .*exited with code 86`));
    expect(run.workerCrashes).toBe(0);
    expect(run.interruptions.filter((n) => n > 0)).toEqual([]);
  }, 240_000);
});
