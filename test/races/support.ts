/**
 * Race-test fixture: one database, several independent Postgres store instances (each with its
 * own pool, so racing calls travel on separate connections, as from separate processes).
 */
import { afterAll, beforeAll } from 'vitest';
import type { LeaseOwner, QueuedWorkBatchDraft, RuntimeStore } from '../../src/store/contract.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

export interface RaceFixture {
  stores: RuntimeStore[];
  /** The fixture database (set in beforeAll). */
  databaseUrl: string;
}

/** Registers beforeAll/afterAll hooks that open `count` store instances on one fresh database. */
export function raceStores(count: number, connectionsEach = 2): RaceFixture {
  const fixture: RaceFixture = { stores: [], databaseUrl: '' };
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    fixture.databaseUrl = db.url;
    for (let i = 0; i < count; i++) fixture.stores.push(createPostgresStore({ databaseUrl: db.url, maxConnections: connectionsEach }));
    // Open every pool before the first trial, so the first race is not a race of connection setup.
    await Promise.all(fixture.stores.map((s) => s.clock.nowMs()));
  });
  afterAll(async () => {
    await Promise.all(fixture.stores.map((s) => s.close()));
    await db?.drop();
  });
  return fixture;
}

export function owner(name: string): LeaseOwner {
  return { ownerId: name, incarnationId: `${name}-1` };
}

export function textDraft(sessionId: string, text: string, sourceKey?: string): QueuedWorkBatchDraft {
  return {
    sessionId,
    deliveryPolicy: 'after_current_turn_commit',
    slotPolicy: 'exclusive',
    ...(sourceKey !== undefined ? { sourceKey } : {}),
    payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text } ] } }],
  };
}

/** Settles every promise and splits the outcomes. */
export async function settle<T>(promises: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    values: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
  };
}
