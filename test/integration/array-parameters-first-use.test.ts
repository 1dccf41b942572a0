/**
 * Issue 13 item 10: every Postgres statement that takes a list works on a pool's first use, with
 * several fresh store instances sending it at once. postgres.js typed an array parameter sent
 * before its first connection had learned the array types as plain text ("a,b"), and Postgres
 * refused it: `malformed array literal` (src/store/postgres/arrays.ts says why).
 *
 * Each case prepares its data with a warm store, then opens FRESH stores (new pools, no statement
 * run yet) and makes the listed operation their very first statement, all at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlClient } from '../../db/client.js';
import type { QueuedWorkBatch, QueuedWorkClaim, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion, turnInputDraft } from '../../src/store/drafts.js';
import { ceilingSeed } from '../../src/store/postgres/bench-seed.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const FRESH = 3;
const TTL = 60_000;

let db: TestDatabase;
let warm: RuntimeStore;
const opened: RuntimeStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  warm = createPostgresStore({ databaseUrl: db.url });
});
afterAll(async () => {
  await Promise.all([warm, ...opened].map((s) => s.close()));
  await db.drop();
});

/** FRESH store instances, each with its own pool that has not run a statement yet. */
function freshStores(): RuntimeStore[] {
  const stores = Array.from({ length: FRESH }, () => createPostgresStore({ databaseUrl: db.url, maxConnections: 2 }));
  opened.push(...stores);
  return stores;
}

async function leaseFor(sessionId: string): Promise<SessionLease> {
  const outcome = await warm.leases.tryClaim(sessionId, { ownerId: 'warm', incarnationId: 'warm-1' }, TTL);
  if (outcome.kind !== 'acquired') throw new Error(`lease of ${sessionId} is busy`);
  return outcome.lease;
}

/** One session per fresh store, each with a queued batch claimed by the warm store. */
async function claimedSessions(prefix: string): Promise<Array<{ lease: SessionLease; claim: QueuedWorkClaim }>> {
  const out = [];
  for (let i = 0; i < FRESH; i++) {
    const sessionId = `${prefix}-${i}`;
    await warm.queue.enqueue(turnInputDraft(sessionId, 'hello', 'after_current_turn_commit', 'exclusive'));
    const lease = await leaseFor(sessionId);
    const claim = await warm.queue.claimReady({
      sessionId, fence: leaseFence(lease), owner: lease.owner, boundary: 'idle', ttlMs: TTL, maxBatches: 1,
    });
    out.push({ lease, claim: claim! });
  }
  return out;
}

describe('array parameters on a pool first use, from concurrent fresh stores', () => {
  it('queue.claimByBatchIds: one claim, the others null', async () => {
    const batch = await warm.queue.enqueue(turnInputDraft('exact', 'only', 'after_current_turn_commit', 'exclusive'));
    const lease = await leaseFor('exact');
    const req = { sessionId: 'exact', fence: leaseFence(lease), owner: lease.owner, boundary: 'idle' as const, ttlMs: TTL, batchIds: [batch.batchId] };
    const claims = await Promise.all(freshStores().map((s) => s.queue.claimByBatchIds(req)));
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
  });

  it('queue.renewClaim', async () => {
    const held = await claimedSessions('renew');
    const renewed = await Promise.all(freshStores().map((s, i) => s.queue.renewClaim(held[i]!.claim, TTL * 2)));
    renewed.forEach((claim, i) => expect(claim.expiresAtMs).toBeGreaterThan(held[i]!.claim.expiresAtMs));
  });

  it('queue.abandonClaim, with and without a failure (the failure dead-letters at maxAttempts 1)', async () => {
    const held = await claimedSessions('abandon');
    const letters = await Promise.all(
      freshStores().map((s, i) => s.queue.abandonClaim(held[i]!.claim, i === 0 ? undefined : { reason: 'boom', maxAttempts: 1 })),
    );
    expect(letters.map((l) => l.length)).toEqual([0, ...Array(FRESH - 1).fill(1)]);
    expect(await warm.queue.listPending('abandon-0')).toHaveLength(1);
  });

  it('queue.deadLetter', async () => {
    const batches: QueuedWorkBatch[] = [];
    for (let i = 0; i < FRESH; i++) batches.push(await warm.queue.enqueue(turnInputDraft(`dead-${i}`, 'x', 'after_current_turn_commit', 'exclusive')));
    const letters = await Promise.all(freshStores().map((s, i) => s.queue.deadLetter(`dead-${i}`, batches[i]!.batchId, 'operator')));
    expect(letters.map((l) => l?.batchId)).toEqual(batches.map((b) => b.batchId));
  });

  it('sessions.commit with completed claims and committedAttachmentIds', async () => {
    const held = await claimedSessions('commit');
    for (const { lease } of held) await warm.attachments.recordIntent({ sessionId: lease.sessionId, attachmentId: 'att-1', canonicalUri: 'sha256:att-1' });
    await Promise.all(
      freshStores().map((s, i) =>
        s.sessions.commit({
          sessionId: held[i]!.lease.sessionId,
          state: { graph: { kind: 'unchanged', leafNodeId: null }, checkpoint: { turnIndex: 1 }, agentFrames: [], currentAgentFrameId: null },
          leaseFence: leaseFence(held[i]!.lease),
          completedQueueClaims: [queueClaimCompletion(held[i]!.claim)],
          committedAttachmentIds: ['att-1'],
        }),
      ),
    );
    expect(await warm.attachments.listUncommitted(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it('attachments.commitRefs', async () => {
    for (let i = 0; i < FRESH; i++) await warm.attachments.recordIntent({ sessionId: `refs-${i}`, attachmentId: 'att-2', canonicalUri: 'sha256:att-2' });
    await Promise.all(freshStores().map((s, i) => s.attachments.commitRefs(`refs-${i}`, ['att-2', 'att-unknown'])));
    expect((await warm.attachments.listUncommitted(Number.MAX_SAFE_INTEGER)).filter((r) => r.attachmentId === 'att-2')).toEqual([]);
  });

  it('maintenance.tombstoneNodes', async () => {
    for (let i = 0; i < FRESH; i++) {
      const lease = await leaseFor(`tomb-${i}`);
      const nodes = [{ nodeId: 'n1', parentNodeId: null, timestamp: 0, payload: { kind: 'event' as const, event: null } }];
      await warm.sessions.commit({
        sessionId: `tomb-${i}`,
        state: { graph: { kind: 'append', nodes, leafNodeId: 'n1' }, checkpoint: { turnIndex: 1 }, agentFrames: [], currentAgentFrameId: null },
        leaseFence: leaseFence(lease),
        releaseLease: leaseFence(lease),
      });
    }
    await Promise.all(freshStores().map((s, i) => s.maintenance.tombstoneNodes(`tomb-${i}`, ['n1', 'n2'])));
    for (let i = 0; i < FRESH; i++) expect(await warm.sessions.loadNode(`tomb-${i}`, 'n1')).toBeNull();
  });

  it('task sessions: create, useTools, close, cleanup', async () => {
    const created = await Promise.all(
      freshStores().map((s, i) => s.sessions.create({ sessionId: `task-${i}`, agentId: 'agent', authorizedTools: ['a', 'b'], callBudget: 5, timeLimitMs: 60_000 })),
    );
    expect(created.map((t) => t.authorizedTools)).toEqual(Array(FRESH).fill(['a', 'b']));
    const receipts = await Promise.all(freshStores().map((s, i) => s.sessions.useTools(`task-${i}`, ['a', 'b'])));
    expect(receipts.map((r) => r.callsMade)).toEqual(Array(FRESH).fill(2));
    const closed = await Promise.all(freshStores().map((s, i) => s.sessions.close(`task-${i}`)));
    expect(closed.map((t) => t.status)).toEqual(Array(FRESH).fill('closed'));
    const counts = await Promise.all(freshStores().map((s) => s.sessions.cleanup()));
    expect(counts.every((n) => n >= 0)).toBe(true);
  });

  it('bench seed (ceilingSeed) on fresh clients', async () => {
    const clients = Array.from({ length: FRESH }, () => createSqlClient(db.url, { maxConnections: 2 }));
    try {
      await Promise.all(clients.map((sql, i) => ceilingSeed(sql, [`ceil-${i}-a`, `ceil-${i}-b`])));
      expect((await warm.queue.list('ceil-0-b')).map((b) => b.batchId)).toEqual(['ceil-0-b-0']);
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });
});
