/**
 * Exactness across processes (spec 04 "Rules"): two Node processes, each with its own Postgres
 * store on the same database, fire 10 concurrent useTools calls in total against a budget of 5.
 * Exactly 5 succeed and 5 are BudgetExceededError, because the decision is one locked statement.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const CHILD = fileURLToPath(new URL('../helpers/use-tools-child.ts', import.meta.url));
const children: ChildProcess[] = [];
let db: TestDatabase | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
  db = undefined;
});

function startChild(env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve(child) : reject(new Error(`unexpected ${JSON.stringify(m)}`))));
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
}

it('10 concurrent useTools from two processes against a budget of 5: exactly 5 succeed', async () => {
  db = await createTestDatabase();
  const store = createPostgresStore({ databaseUrl: db.url });
  try {
    const { sessionId } = await store.sessions.create({ agentId: 'agent-1', authorizedTools: ['read_file'], callBudget: 5, timeLimitMs: 60_000 });
    const env = { DATABASE_URL: db.url, SESSION_ID: sessionId, CALLS: '5' };
    const pair = await Promise.all([startChild(env), startChild(env)]);
    const reports = pair.map((child) => new Promise<string[]>((resolve) => child.on('message', (m: { outcomes?: string[] }) => m.outcomes && resolve(m.outcomes))));
    for (const child of pair) child.send('go');
    const outcomes = (await Promise.all(reports)).flat();
    expect(outcomes).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'budget')).toHaveLength(5);
    expect((await store.sessions.get(sessionId))!.callsMade).toBe(5);
  } finally {
    await store.close();
  }
});
