/**
 * A client frozen between two statements of a transaction (SIGSTOP, a stalled VM) would keep its
 * row locks for as long as it stays frozen, and a session's next lease holder would wait on them
 * (chaos zombie: 2 of 50 trials). Store connections carry idle_in_transaction_session_timeout, so
 * Postgres ends such a transaction and frees its locks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlClient, type Sql } from '../../db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function lockWaitsFreeWithin(idleInTransactionTimeoutMs: number | undefined, waitMs: number): Promise<boolean> {
  const frozen: Sql = createSqlClient(db.url, { maxConnections: 1, ...(idleInTransactionTimeoutMs ? { idleInTransactionTimeoutMs } : {}) });
  const other: Sql = createSqlClient(db.url, { maxConnections: 1 });
  const sessionId = `idle-${idleInTransactionTimeoutMs ?? 0}`;
  try {
    await other`insert into session_leases (session_id, owner_id, incarnation_id, fencing_token, claimed_at_ms, expires_at_ms)
      values (${sessionId}, 'a', 'a:1', 1, 0, 0)`;
    const reserved = await frozen.reserve();
    await reserved`begin`;
    await reserved`update session_leases set fencing_token = 2 where session_id = ${sessionId}`;
    // The holder now "freezes": it sends nothing more. Someone else wants the same row.
    const taking = other`update session_leases set fencing_token = 3 where session_id = ${sessionId}`.then(() => true);
    const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), waitMs));
    const freed = await Promise.race([taking, timedOut]);
    reserved.release();
    return freed;
  } finally {
    await Promise.all([frozen.end({ timeout: 1 }), other.end({ timeout: 1 })]);
  }
}

describe('a connection idle inside a transaction', () => {
  it('loses its transaction, and its row locks, after idleInTransactionTimeoutMs', async () => {
    expect(await lockWaitsFreeWithin(300, 3000)).toBe(true);
  });

  it('keeps them without the setting (what a frozen holder did before)', async () => {
    expect(await lockWaitsFreeWithin(undefined, 1500)).toBe(false);
  });
});
