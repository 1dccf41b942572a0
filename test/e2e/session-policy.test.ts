/**
 * Task-session policy end to end: a real worker process (workers/main.ts, the demo agent, which
 * calls `turn.tools.use(['search'])` once per step, two steps per turn) against a session created
 * with limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture } from '../helpers/runtime.js';
import { startWorkerProcess, waitFor, type WorkerProcess } from '../helpers/processes.js';

let fixture: RuntimeFixture | undefined;
const workers: WorkerProcess[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fixture?.cleanup();
  fixture = undefined;
});

describe('task-session policy in a worker process', () => {
  it('a turn that needs a 4th tool call against a budget of 3 is dead-lettered with BudgetExceededError', async () => {
    const f = (fixture = await createRuntimeFixture());
    workers.push(await startWorkerProcess(f.env({ MAX_ATTEMPTS: '2' })));
    const s = 'budget-of-three';
    await f.store.sessions.create({ sessionId: s, agentId: 'demo', authorizedTools: ['search'], callBudget: 3, timeLimitMs: 60 * 60 * 1000 });

    // Turn 1: two steps, two calls, committed.
    await f.producer.enqueueTurnInput({ sessionId: s, text: 'first' });
    await waitFor(() => queueIsEmpty(f.store, [s]), 20_000, 'the first turn');
    expect((await f.store.sessions.load(s, { kind: 'full_graph' }))!.headRevision).toBe(1);
    expect((await f.store.sessions.get(s))!.callsMade).toBe(2);

    // Turn 2: the first step takes the third call, the second step's call is refused. A budget
    // refusal cannot succeed on retry, so the batch is dead-lettered at once, after one attempt,
    // with the error as its reason (NonRetryableError's rule). Nothing more is committed.
    const second = await f.producer.enqueueTurnInput({ sessionId: s, text: 'second' });
    await waitFor(async () => (await f.store.queue.listDeadLetters(s)).length === 1, 20_000, 'the dead letter');
    const [letter] = await f.store.queue.listDeadLetters(s);
    expect(letter!.batchId).toBe(second.batchId);
    expect(letter!.attempts).toBe(1);
    expect(letter!.reason).toContain('BudgetExceededError');
    expect((await f.store.sessions.get(s))!.callsMade).toBe(3);
    expect((await f.store.sessions.load(s, { kind: 'full_graph' }))!.headRevision).toBe(1);
    const failures = workers[0]!.messages.filter((m) => m.type === 'failed');
    expect(failures.length).toBe(1);
  });

  it('closing a session mid-turn ends the turn without a commit and cancels its input', async () => {
    const f = (fixture = await createRuntimeFixture());
    workers.push(await startWorkerProcess(f.env({ DEMO_THINK_MS: '800' })));
    const s = 'closed-mid-turn';
    await f.store.sessions.create({ sessionId: s, agentId: 'demo', authorizedTools: ['search'], callBudget: 100, timeLimitMs: 60 * 60 * 1000 });
    const input = await f.producer.enqueueTurnInput({ sessionId: s, text: 'hello' });
    await waitFor(async () => Boolean((await f.store.leases.get(s))?.leaseToken) && (await f.store.queue.listPending(s)).length === 0, 10_000, 'the turn to start');
    await f.store.sessions.close(s);
    await waitFor(() => queueIsEmpty(f.store, [s]), 10_000, 'the claimed input to be cancelled');
    expect(await f.store.sessions.load(s, { kind: 'full_graph' })).toBeNull();
    expect(await f.store.queue.listDeadLetters(s)).toEqual([]);
    // A replay of the input's source key would say so: here, the batch is simply gone.
    expect(await f.store.queue.get(input.batchId)).toBeNull();
    expect(workers[0]!.messages.filter((m) => m.type === 'turn')).toEqual([]);
  });
});
