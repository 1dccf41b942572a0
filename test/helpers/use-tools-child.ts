/**
 * A separate Node process with its own Postgres store (its own pool) that fires CALLS concurrent
 * `useTools` calls on SESSION_ID when its parent says `go`, and reports how each one ended.
 * Used by test/integration/task-session-budget-across-processes.test.ts.
 */
import { BudgetExceededError } from '../../src/errors.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';

const store = createPostgresStore({ databaseUrl: process.env.DATABASE_URL!, maxConnections: 8 });
const sessionId = process.env.SESSION_ID!;
const calls = Number(process.env.CALLS);

process.on('message', async (message: string) => {
  if (message !== 'go') return;
  const outcomes = await Promise.all(
    Array.from({ length: calls }, () =>
      store.sessions.useTools(sessionId, ['read_file']).then(
        () => 'ok',
        (err: unknown) => (err instanceof BudgetExceededError ? 'budget' : `other: ${String(err)}`),
      ),
    ),
  );
  process.send!({ outcomes });
  await store.close();
  process.disconnect();
});
// Warm one pool connection before reporting ready, so `go` starts the race, not connection setup.
await store.clock.nowMs();
process.send!('ready');
