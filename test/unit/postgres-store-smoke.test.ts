/**
 * Postgres-only checks the conformance suite does not reach: races through separate pools,
 * graph-delta edge cases that must write nothing, and error mapping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, StoreUnavailableError } from '../../src/errors.js';
import type { RuntimeStore, SessionNode } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const owner = (id: string) => ({ ownerId: id, incarnationId: `${id}:1` });
const node = (nodeId: string, parentNodeId: string | null): SessionNode => ({
  nodeId,
  parentNodeId,
  timestamp: 0,
  payload: { kind: 'event', event: { nodeId } },
});
const emptyState = { checkpoint: { turnIndex: 0 }, agentFrames: [], currentAgentFrameId: null };

describe('postgres store smoke', () => {
  let db: TestDatabase;
  let stores: RuntimeStore[];
  const open = () => {
    const store = createPostgresStore({ databaseUrl: db.url, maxConnections: 8 });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    await db.drop();
  });

  it('concurrent enqueues of one new source key from two pools return one batch', async () => {
    const [a, b] = [open(), open()];
    const draft = { ...turnInputDraft('s', 'hello', 'earliest_safe_boundary', 'exclusive'), sourceKey: 'k' };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).queue.enqueue(draft)));
    expect(new Set(results.map((r) => r.batchId)).size).toBe(1);
    expect(await a.queue.list('s')).toHaveLength(1);
  });

  it('concurrent first tryClaims from two pools: exactly one acquires', async () => {
    const [a, b] = [open(), open()];
    for (let i = 0; i < 20; i++) {
      const outcomes = await Promise.all([a.leases.tryClaim(`race-${i}`, owner('a'), 60_000), b.leases.tryClaim(`race-${i}`, owner('b'), 60_000)]);
      expect(outcomes.filter((o) => o.kind === 'acquired')).toHaveLength(1);
    }
  });

  it('an appended node id already in the session is InvalidInputError and writes nothing', async () => {
    const store = open();
    const commitUnder = async (graph: { kind: 'append' | 'replace'; nodes: SessionNode[]; leafNodeId: string | null }) => {
      const outcome = await store.leases.tryClaim('g', owner('w'), 60_000);
      if (outcome.kind !== 'acquired') throw new Error('busy');
      return store.sessions.commit({ sessionId: 'g', state: { ...emptyState, graph }, leaseFence: leaseFence(outcome.lease) });
    };
    await commitUnder({ kind: 'append', nodes: [node('r', null), node('x', 'r')], leafNodeId: 'x' });
    await expect(commitUnder({ kind: 'append', nodes: [node('x', 'r')], leafNodeId: 'x' })).rejects.toBeInstanceOf(InvalidInputError);
    expect((await store.sessions.load('g', { kind: 'full_graph' }))!.headRevision).toBe(1);

    const replaced = await commitUnder({ kind: 'replace', nodes: [node('x', null), node('y', 'x')], leafNodeId: 'y' });
    expect(replaced.headRevision).toBe(2);
    const read = await store.sessions.load('g', { kind: 'full_graph' });
    expect(read!.graph.nodes.map((n) => n.nodeId)).toEqual(['x', 'y']);
    expect(read!.graph.nodes[0]!.parentNodeId).toBeNull();
  });

  it('an unreachable database is StoreUnavailableError', async () => {
    const store = createPostgresStore({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
    stores.push(store);
    await expect(store.queue.list('s')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('clock.advance shifts database time used by expiry', async () => {
    const store = open();
    const before = await store.clock.nowMs();
    store.clock.advance(3_600_000);
    expect((await store.clock.nowMs()) - before).toBeGreaterThanOrEqual(3_600_000);
    expect(() => store.clock.advance(-1)).toThrow(InvalidInputError);
  });
});
