import { expect } from 'vitest';
import type { QueuedWorkBatchDraft, QueuedWorkClaim } from '../../src/store/contract.js';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { batchIds, claimLeaseForTest, TEST_TTL_MS } from './support.js';

const CLAIMERS = 8;

// Concurrent claimers (on one pooled store and on separate handles) never both get a batch.
conformance('concurrentClaimsHaveOneOwner', async (store, ctx) => {
  const handles = [store, store, store, store, await ctx.open(), await ctx.open(), await ctx.open(), await ctx.open()];

  // One batch, many claimers: exactly one claim.
  const single = await store.queue.enqueue(turnInputDraft('single', 'only one', 'earliest_safe_boundary', 'exclusive'));
  const singleLease = await claimLeaseForTest(store, 'single', 'owner');
  const singleClaims = await Promise.all(handles.map((handle) => handle.queue.claimReady({
    sessionId: 'single', fence: leaseFence(singleLease), owner: singleLease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10,
  })));
  const singleWinners = singleClaims.filter((claim): claim is QueuedWorkClaim => claim !== null);
  expect(singleWinners).toHaveLength(1);
  expect(batchIds(singleWinners[0]!.batches)).toEqual([single.batchId]);
  expect(await store.queue.listPending('single')).toEqual([]);

  // The same for exact claims of one batch id.
  const exact = await store.queue.enqueue(turnInputDraft('exact', 'exact', 'earliest_safe_boundary', 'exclusive'));
  const exactLease = await claimLeaseForTest(store, 'exact', 'owner');
  const exactClaims = await Promise.all(handles.map((handle) => handle.queue.claimByBatchIds({
    sessionId: 'exact', fence: leaseFence(exactLease), owner: exactLease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, batchIds: [exact.batchId],
  })));
  expect(exactClaims.filter((claim) => claim !== null)).toHaveLength(1);

  // Many batches (exclusive and join groups), many claimers: no batch is in two claims, and every
  // batch is either in exactly one claim or still pending.
  const drafts: QueuedWorkBatchDraft[] = [];
  for (let i = 0; i < 12; i++) {
    const draft = turnInputDraft('many', `item ${i}`, 'earliest_safe_boundary', i % 3 === 0 ? 'exclusive' : 'join');
    drafts.push(i % 3 === 0 ? draft : { ...draft, mergeKey: { kind: 'group', key: `g${Math.floor(i / 3)}` } });
  }
  const enqueued = [];
  for (const draft of drafts) enqueued.push(await store.queue.enqueue(draft));
  const manyLease = await claimLeaseForTest(store, 'many', 'owner');
  const manyClaims = (await Promise.all(handles.map((handle) => handle.queue.claimReady({
    sessionId: 'many', fence: leaseFence(manyLease), owner: manyLease.owner, boundary: 'idle', ttlMs: TEST_TTL_MS, maxBatches: 10,
  })))).filter((claim): claim is QueuedWorkClaim => claim !== null);
  expect(manyClaims.length).toBeGreaterThanOrEqual(1);
  expect(manyClaims.length).toBeLessThanOrEqual(CLAIMERS);
  const claimed = manyClaims.flatMap((claim) => batchIds(claim.batches));
  expect(new Set(claimed).size).toBe(claimed.length);
  expect(new Set(manyClaims.map((claim) => claim.claimId)).size).toBe(manyClaims.length);
  for (const claim of manyClaims) expect(claim.batches.length).toBeGreaterThan(0);
  const pending = batchIds(await store.queue.listPending('many'));
  expect([...claimed, ...pending].sort()).toEqual(batchIds(enqueued).sort());
  expect(batchIds(await store.queue.list('many'))).toEqual(batchIds(enqueued));
});
