/**
 * Dispatch end to end: real worker processes (workers/main.ts running the demo agent) against
 * real Redis and Postgres, each test in its own database and BullMQ prefix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture } from '../helpers/runtime.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';

let fixture: RuntimeFixture | undefined;
const workers: WorkerProcess[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fixture?.cleanup();
  fixture = undefined;
});

async function setup(workerEnv: Record<string, string> = {}, count = 1): Promise<RuntimeFixture> {
  fixture = await createRuntimeFixture();
  for (let i = 0; i < count; i++) workers.push(await startWorkerProcess(fixture.env(workerEnv)));
  return fixture;
}

/** The texts of a session's messages of one role, in graph order. */
async function messages(store: RuntimeStore, sessionId: string, role: 'user' | 'assistant'): Promise<string[]> {
  const read = await store.sessions.load(sessionId, { kind: 'full_graph' });
  return (read?.graph.nodes ?? []).flatMap((n) =>
    n.payload.kind === 'message' && n.payload.role === role ? [String((n.payload.parts[0] as { text: string }).text)] : [],
  );
}

async function drained(f: RuntimeFixture, sessions: string[], timeoutMs = 20_000): Promise<void> {
  await waitFor(() => queueIsEmpty(f.store, sessions), timeoutMs, `the queues of ${sessions.join(', ')} to drain`);
}

describe('dispatch through BullMQ to worker processes', () => {
  it('runs each session in enqueue order, one turn at a time, across two workers', async () => {
    const f = await setup({}, 2);
    const sessions = ['order-a', 'order-b', 'order-c'];
    for (let i = 0; i < 5; i++) for (const s of sessions) await f.producer.enqueueTurnInput({ sessionId: s, text: `m${i}` });
    await drained(f, sessions);
    for (const s of sessions) {
      expect(await messages(f.store, s, 'user')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const read = await f.store.sessions.load(s, { kind: 'full_graph' });
      expect(read!.headRevision).toBe(5);
    }
  });

  it('joins adjacent join batches with the same merge key and keeps exclusive ones alone', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const group = { kind: 'group', key: 'g1' } as const;
    const s = 'join-session';
    // Enqueued before any worker runs, so the first claim sees the whole queue.
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'j1', slotPolicy: 'join', mergeKey: group });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'j2', slotPolicy: 'join', mergeKey: group });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'j3', slotPolicy: 'join', mergeKey: { kind: 'group', key: 'other' } });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'x1', slotPolicy: 'exclusive' });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'n1', slotPolicy: 'join' });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'n2', slotPolicy: 'join' });
    workers.push(await startWorkerProcess(f.env()));
    await drained(f, [s]);
    expect(await messages(f.store, s, 'assistant')).toEqual(['echo: j1 | j2', 'echo: j3', 'echo: x1', 'echo: n1', 'echo: n2']);
  });

  it('delivers earliest_safe_boundary input mid-turn while after_current_turn_commit input waits', async () => {
    const f = await setup({ DEMO_THINK_MS: '600' });
    const s = 'double-text';
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'first' });
    await waitFor(async () => Boolean((await f.store.leases.get(s))?.leaseToken) && (await f.store.queue.listPending(s)).length === 0, 5000, 'the first turn to start');
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'meanwhile', deliveryPolicy: 'earliest_safe_boundary' });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'later', deliveryPolicy: 'after_current_turn_commit' });
    await drained(f, [s]);
    expect(await messages(f.store, s, 'assistant')).toEqual(['echo: first | meanwhile', 'echo: later']);
    await waitFor(() => workers[0]!.messages.filter((m) => m.type === 'turn').length >= 2, 5000, 'the reports of both turns');
    const turns = workers[0]!.messages.filter((m) => m.type === 'turn');
    expect(turns.map((t) => (t.type === 'turn' ? t.midTurn : -1))).toEqual([1, 0]);
  });

  it('cancels pending input and removes its job; a source-key replay adds nothing', async () => {
    const f = await setup();
    const s = 'cancel-and-replay';
    const now = await f.store.clock.nowMs();
    const future = await f.producer.enqueueTurnInput({ sessionId: s, text: 'never', availableAtMs: now + 60_000 });
    expect(await f.queue.getJobState(future.batchId)).toBe('delayed');
    const cancelled = await f.producer.cancel(s, future.batchId);
    expect(cancelled?.batchId).toBe(future.batchId);
    expect(await f.queue.getJobState(future.batchId)).toBe('unknown');

    const first = await f.producer.enqueueTurnInput({ sessionId: s, text: 'once', sourceKey: 'k1' });
    // The same request again under its key: the first batch (another request would be refused, IDEMPOTENCY_KEY_REUSED).
    const replay = await f.producer.enqueueTurnInput({ sessionId: s, text: 'once', sourceKey: 'k1' });
    expect(replay.batchId).toBe(first.batchId);
    await drained(f, [s]);
    expect(await messages(f.store, s, 'user')).toEqual(['once']);
    const again = await f.producer.enqueueTurnInput({ sessionId: s, text: 'once', sourceKey: 'k1' });
    expect(again.batchId).toBe(first.batchId);
    expect(again.status).toBe('completed');
    // The job finishes just after the commit removed its batch; then nothing is left to deliver.
    await waitFor(async () => {
      const counts = await f.queue.getJobCounts('waiting', 'delayed', 'active');
      return (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0) === 0;
    }, 5000, 'the last job to finish');
    expect(await f.queue.getJobCounts('completed')).toEqual({ completed: 1 });
  });

  it('holds not-yet-available input until its time without blocking later input', async () => {
    const f = await setup();
    const s = 'availability';
    const now = await f.store.clock.nowMs();
    const delayed = await f.producer.enqueueTurnInput({ sessionId: s, text: 'later', availableAtMs: now + 1500 });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'now' });
    await drained(f, [s]);
    expect(await messages(f.store, s, 'user')).toEqual(['now', 'later']);
    // The worker reports a turn over IPC just after its commit: wait for the report.
    await waitFor(() => workers[0]!.messages.some((m) => m.type === 'turn' && m.headRevision === 2), 5000, 'the report of the second turn');
    const turn = workers[0]!.messages.find((m) => m.type === 'turn' && m.headRevision === 2);
    expect(turn?.type === 'turn' && turn.startLatencyMs[0]! >= 1500 - (delayed.enqueuedAtMs - now)).toBe(true);
  });

  it('applies session commands at the head before turn input', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const s = 'commands';
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'hello' });
    workers.push(await startWorkerProcess(f.env()));
    await drained(f, [s]);
    expect(await messages(f.store, s, 'user')).toEqual(['hello']);
    const command = await f.producer.submitSessionCommand(s, { kind: 'reset_session', reason: 'test' }, 'reset-1');
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'after reset' });
    await drained(f, [s]);
    expect(await messages(f.store, s, 'user')).toEqual(['after reset']);
    const replay = await f.producer.submitSessionCommand(s, { kind: 'reset_session', reason: 'test' }, 'reset-1');
    expect(replay.batchId).toBe(command.batchId);
    expect(replay.status).toBe('completed');
  });

  it('dead-letters a poison input after the configured attempts while the session goes on', async () => {
    const f = await setup({ MAX_ATTEMPTS: '2' });
    const s = 'poison';
    const poison = await f.producer.enqueueTurnInput({ sessionId: s, text: 'please !poison' });
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'fine' });
    await drained(f, [s]);
    const letters = await f.store.queue.listDeadLetters(s);
    expect(letters.map((l) => l.batchId)).toEqual([poison.batchId]);
    expect(letters[0]!.attempts).toBe(2);
    expect(letters[0]!.reason).toContain('poison');
    expect(await messages(f.store, s, 'user')).toEqual(['fine']);
  });

  it('serves the worker\'s own Prometheus metrics', async () => {
    const port = await freePort();
    const f = await setup({ WORKER_METRICS_PORT: String(port), HTTP_HOST: '127.0.0.1' });
    await f.producer.enqueueTurnInput({ sessionId: 'metrics', text: 'count me' });
    await drained(f, ['metrics']);
    await waitFor(async () => /turnlane_turns_committed_total 1\b/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()), 5000, 'the committed turn in /metrics');
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(body).toMatch(/turnlane_commit_duration_seconds_count 1\b/);
    expect(body).toMatch(/turnlane_enqueue_to_start_seconds_count 1\b/);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
