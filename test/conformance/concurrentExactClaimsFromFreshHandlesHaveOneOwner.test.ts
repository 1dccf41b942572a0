import { expect } from 'vitest';
import { leaseFence, turnInputDraft } from '../../src/store/drafts.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, TEST_TTL_MS } from './support.js';

// Issue 13 item 10: two exact claims of one batch, sent at once from two store handles that have
// never run a statement (fresh pools in Postgres), give one claim and one null. On Postgres both
// failed with "malformed array literal": the id array left as a plain string on a pool's first use.
conformance('concurrentExactClaimsFromFreshHandlesHaveOneOwner', async (store, ctx) => {
  const batch = await store.queue.enqueue(turnInputDraft('root', 'only', 'after_current_turn_commit', 'exclusive'));
  const lease = await claimLeaseForTest(store, 'root', 'owner');
  const [a, b] = [await ctx.open(), await ctx.open()];
  const request = {
    sessionId: 'root',
    fence: leaseFence(lease),
    owner: lease.owner,
    boundary: 'idle' as const,
    ttlMs: TEST_TTL_MS,
    batchIds: [batch.batchId],
  };
  const claims = await Promise.all([a.queue.claimByBatchIds(request), b.queue.claimByBatchIds(request)]);
  const won = claims.filter((claim) => claim !== null);
  expect(won).toHaveLength(1);
  expect(won[0]!.batches.map((x) => x.batchId)).toEqual([batch.batchId]);
  expect(claims.filter((claim) => claim === null)).toHaveLength(1);
});
