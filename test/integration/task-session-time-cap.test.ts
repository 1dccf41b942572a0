/**
 * The 24-hour cap on a session's time limit is re-applied when a record is read back (the arbiter
 * seed's re-validation on reload): a row edited behind the store's back cannot extend a session.
 * Postgres only: the in-memory model has no storage to corrupt.
 */
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { SessionExpiredError } from '../../src/errors.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase } from '../helpers/postgres.js';

const DAY_MS = 24 * 60 * 60 * 1000;

it('a time limit stored above 24 h reads back as 24 h and expires at 24 h', async () => {
  const db = await createTestDatabase();
  const store = createPostgresStore({ databaseUrl: db.url });
  const raw = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const created = await store.sessions.create({ sessionId: 'hostile', agentId: 'a', authorizedTools: ['t'], callBudget: 10, timeLimitMs: 1000 });
    await raw`update task_sessions set time_limit_ms = ${String(7 * DAY_MS)}::bigint where session_id = 'hostile'`;
    const read = await store.sessions.get('hostile');
    expect(read).toMatchObject({ timeLimitMs: DAY_MS, expiresAtMs: created.createdAtMs + DAY_MS, status: 'active' });
    store.clock.advance(DAY_MS);
    await expect(store.sessions.useTools('hostile', ['t'])).rejects.toBeInstanceOf(SessionExpiredError);
    expect((await store.sessions.get('hostile'))!.status).toBe('expired');
  } finally {
    await raw.end();
    await store.close();
    await db.drop();
  }
});
