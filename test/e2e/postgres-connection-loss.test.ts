/**
 * Postgres connections dying under a loaded worker process: the worker's backends are terminated
 * (pg_terminate_backend) in a loop while it drains. What a Postgres restart does to a worker, minus
 * the restart itself: the server is shared with every other test file, so it is never restarted
 * here (the postgres-restart chaos scenario does that). The worker must stay alive, drain, and
 * commit every input exactly once.
 *
 * What this reaches in postgres.js 3.4.9 is mostly the statement that is never settled (see
 * src/runtime/store-guard.ts). The null-socket write (src/runtime/driver-guard.ts) needs a
 * transaction in flight, and since claims and commits became autocommit statements this test no
 * longer reaches it (0 in 9 runs; in 4 similar runs before that change, 1 worker died of it);
 * test/unit/driver-guard.test.ts reproduces that one deterministically.
 *
 * The worker's connections carry their own application_name (PGAPPNAME, read by postgres.js), so
 * the terminations hit the worker and spare this test process's own pool.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuntimeStore } from '../../src/store/contract.js';
import type { WorkerMessage } from '../../workers/main.js';
import { ADMIN_URL } from '../helpers/postgres.js';
import { waitFor } from '../helpers/processes.js';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture, transcriptOf } from '../helpers/runtime.js';

/** CONN_LOSS_WORKER_ENTRY: another worker entry, to show what this test sees without the guards. */
const ENTRY = process.env.CONN_LOSS_WORKER_ENTRY ?? fileURLToPath(new URL('../../workers/main.ts', import.meta.url));
const WORKER_APP_NAME = 'turnlane-e2e-conn-loss';
const SESSIONS = 30;
const INPUTS_PER_SESSION = 8;
/** Terminations, one every TERMINATE_EVERY_MS while the worker drains. */
const TERMINATIONS = 20;
const TERMINATE_EVERY_MS = 300;
/**
 * The worker recovers within one store-call deadline (5 s here) of the last termination; the whole
 * drain took 13–15 s with the guards in 3 runs. Without the store guard, 2 of 3 runs had not
 * drained after 150 s (a statement the driver never settled held its session) and one took 154 s.
 */
const DRAIN_TIMEOUT_MS = 60_000;

interface ObservedWorker {
  messages: WorkerMessage[];
  stderr: () => string;
  alive: () => boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

let fixture: RuntimeFixture | undefined;
let worker: ObservedWorker | undefined;
let admin: postgres.Sql | undefined;

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await admin?.end({ timeout: 5 });
  admin = undefined;
  await fixture?.cleanup();
  fixture = undefined;
});

/** workers/main.ts forked with IPC; its stderr is kept (a crash's stack trace is the evidence). */
async function startObservedWorker(env: Record<string, string>): Promise<ObservedWorker> {
  const child = fork(ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TURNLANE_REPORT_EVENTS: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const messages: WorkerMessage[] = [];
  child.on('message', (m: WorkerMessage) => messages.push(m));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  await Promise.race([
    waitFor(() => messages.some((m) => m.type === 'ready'), 30_000, 'the worker to be ready'),
    exited.then(({ code }) => Promise.reject(new Error(`worker exited before ready (code ${code}): ${stderr}`))),
  ]);
  return {
    messages,
    stderr: () => stderr,
    alive,
    exited,
    async stop() {
      if (alive()) child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}


describe('Postgres connection loss under a loaded worker', () => {
  it(`keeps the worker alive through ${TERMINATIONS} terminations of its backends; every input commits exactly once`, async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    const sessions = Array.from({ length: SESSIONS }, (_, i) => `conn-loss-${i}`);
    const inputsOf = (s: string) => Array.from({ length: INPUTS_PER_SESSION }, (_, i) => `${s}/m${i}`);
    for (let i = 0; i < INPUTS_PER_SESSION; i++) {
      await Promise.all(sessions.map((s) => f.producer.enqueueTurnInput({ sessionId: s, text: `${s}/m${i}`, sourceKey: `m${i}` })));
    }
    // 16 job slots on 4 connections: statements wait behind busy connections, where a terminated
    // backend strands them.
    worker = await startObservedWorker(
      f.env({ PGAPPNAME: WORKER_APP_NAME, DEMO_THINK_MS: '10', LEASE_TTL_MS: '2000', WORKER_CONCURRENCY: '16', PG_MAX_CONNECTIONS: '4', LOG_LEVEL: 'error' }),
    );
    const w = worker;

    let terminated = 0;
    for (let i = 0; i < TERMINATIONS && w.alive(); i++) {
      await new Promise((resolve) => setTimeout(resolve, TERMINATE_EVERY_MS));
      const rows = await admin<{ pid: number }[]>`
        select pg_terminate_backend(pid) as pid from pg_stat_activity
        where datname = ${f.db.name} and application_name = ${WORKER_APP_NAME} and pid <> pg_backend_pid()`;
      terminated += rows.length;
    }
    await Promise.race([
      waitFor(() => queueIsEmpty(f.store, sessions), DRAIN_TIMEOUT_MS, 'every session to drain after the terminations'),
      w.exited.then(({ code, signal }) => Promise.reject(new Error(`the worker exited (code ${code}, signal ${signal}):\n${w.stderr().slice(-3000)}`))),
    ]);

    expect(w.alive(), `worker stderr:\n${w.stderr().slice(-3000)}`).toBe(true);
    expect(terminated).toBeGreaterThan(0);
    for (const s of sessions) {
      const { users, assistants, head } = await transcriptOf(f.store, s);
      // Exactly once; order is not checked here. A turn whose claim could not be abandoned (its
      // connection was gone) holds its batch until the claim expires, held batches are not
      // candidates (spec 02), and a later input of the session was seen to commit first: at odds
      // with the README's order promise, a matter for the drain and the claim, not for this guard.
      expect([...users].sort()).toEqual(inputsOf(s).sort());
      // Each commit of the demo agent appends exactly one assistant reply: revisions 1..head, no gap, no repeat.
      expect(assistants).toBe(head);
    }
    expect(await f.store.queue.listDeadLetters()).toEqual([]);
    const faults: Record<string, number> = {};
    for (const m of w.messages) if (m.type === 'driver_fault') faults[m.kind] = (faults[m.kind] ?? 0) + 1;
    console.info(`[conn-loss] ${terminated} backends terminated; driver faults survived: ${JSON.stringify(faults)}`);
  }, 240_000);
});
