/**
 * One conformance suite, two implementations (River's riverdrivertest pattern). A scenario is
 * written once and registered for both stores; it never branches on the implementation.
 */
import { describe, it } from 'vitest';
import type { Limits, RuntimeStore } from '../../src/store/contract.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase } from '../helpers/postgres.js';

export interface StoreOptions {
  sourceKeyRetentionMs?: number;
  limits?: Partial<Limits>;
  implicitSessions?: boolean;
  taskSessionRetentionMs?: number;
}

export interface ScenarioContext {
  /** Another independent store instance on the same data (its own pool for Postgres). */
  open(options?: StoreOptions): Promise<RuntimeStore>;
  /** The durability the backend under test declares: 'inline' for memory, 'durable' for Postgres. */
  expectedDurability: RuntimeStore['durability'];
  /** The scenario database, for content stores that need their own connection (Postgres only). */
  databaseUrl?: string;
}

export type Scenario = (store: RuntimeStore, ctx: ScenarioContext) => Promise<void>;

interface Backend {
  name: string;
  run(scenario: Scenario, options: StoreOptions): Promise<void>;
}

const memoryBackend: Backend = {
  name: 'memory',
  async run(scenario, options) {
    // The in-memory model has one process-local state per instance, so `open` hands out the
    // same instance: a reopen of the reference model sees the same data.
    const store = createInMemoryStore(options);
    await scenario(store, { open: async () => store, expectedDurability: 'inline' });
  },
};

const postgresBackend: Backend = {
  name: 'postgres',
  async run(scenario, options) {
    const db = await createTestDatabase();
    const stores: RuntimeStore[] = [];
    const open = async (extra?: StoreOptions) => {
      const store = createPostgresStore({ databaseUrl: db.url, maxConnections: 8, ...options, ...extra });
      stores.push(store);
      return store;
    };
    try {
      await scenario(await open(), { open, expectedDurability: 'durable', databaseUrl: db.url });
    } finally {
      for (const store of stores) await store.close();
      await db.drop();
    }
  },
};

/** Registers a scenario against both stores. */
export function conformance(name: string, scenario: Scenario, options: StoreOptions = {}): void {
  describe(name, () => {
    for (const backend of [memoryBackend, postgresBackend]) {
      it(backend.name, () => backend.run(scenario, options));
    }
  });
}

/** Registers a scenario that only a durable store can pass (reopen with separate pools). */
export function durableConformance(name: string, scenario: Scenario, options: StoreOptions = {}): void {
  describe(name, () => {
    it(postgresBackend.name, () => postgresBackend.run(scenario, options));
  });
}
