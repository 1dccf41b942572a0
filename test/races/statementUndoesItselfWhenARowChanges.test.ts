/**
 * Claims and commits are single statements that check, after their writes, that every row they
 * selected was written; if a concurrent statement changed one in between, the statement undoes
 * itself (turnlane_refuse) and nothing it wrote stays. Made deterministic by holding a row lock
 * from another connection, changing the row, then letting the raced statement go on.
 */
import { describe, expect, it } from 'vitest';
import { holdBatchRow } from '../../db/row-holds.js';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { QueuedWorkClaimExpiredError } from '../../src/errors.js';
import { minimalState, stateCommit } from '../conformance/support.js';
import type { QueuedWorkBatchDraft } from '../../src/store/contract.js';
import { owner, raceStores, textDraft } from './support.js';

const fx = raceStores(1);
const joined = (sessionId: string, text: string): QueuedWorkBatchDraft => ({
  ...textDraft(sessionId, text),
  slotPolicy: 'join',
  mergeKey: { kind: 'group', key: 'k' },
});

async function untilWaiting(hold: { waiting(): Promise<number> }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await hold.waiting()) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the raced statement never waited on the held row');
}

describe('race: a statement whose selected row changes under it undoes itself', () => {
  it('an exact claim of a join group stamps nothing when one member becomes unavailable under it', async () => {
    const store = fx.stores[0]!;
    const s = 'undo-claim';
    const acquired = await store.leases.tryClaim(s, owner('w'), 3_600_000);
    if (acquired.kind !== 'acquired') throw new Error('lease busy');
    const fence = leaseFence(acquired.lease);
    const first = await store.queue.enqueue(joined(s, 'one'));
    const second = await store.queue.enqueue(joined(s, 'two'));
    const hold = await holdBatchRow(fx.databaseUrl, second.batchId);
    const claiming = store.queue.claimByBatchIds({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 60_000, batchIds: [first.batchId, second.batchId] });
    await untilWaiting(hold);
    await hold.release({ availableAtMs: Date.now() + 3_600_000 });
    // Undone and run again: the group is no longer [first, second], so nothing is claimed (a
    // statement that kept its partial stamp would hand out a claim of [first] alone).
    expect(await claiming).toBeNull();
    // Nothing stayed stamped: the first batch is claimable at once, alone now.
    const again = await store.queue.claimReady({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 60_000, maxBatches: 16 });
    expect(again?.batches.map((b) => b.batchId)).toEqual([first.batchId]);
  });

  it('a commit whose completed batch loses its claim under it writes nothing', async () => {
    const store = fx.stores[0]!;
    const s = 'undo-commit';
    const acquired = await store.leases.tryClaim(s, owner('w'), 3_600_000);
    if (acquired.kind !== 'acquired') throw new Error('lease busy');
    const fence = leaseFence(acquired.lease);
    await store.queue.enqueue(joined(s, 'one'));
    const second = await store.queue.enqueue(joined(s, 'two'));
    const claim = await store.queue.claimReady({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 60_000, maxBatches: 16 });
    expect(claim?.batches).toHaveLength(2);
    const hold = await holdBatchRow(fx.databaseUrl, second.batchId);
    const committing = store.sessions
      .commit({ ...stateCommit(s, minimalState({ checkpoint: { turnIndex: 1 } })), leaseFence: fence, completedQueueClaims: [queueClaimCompletion(claim!)] })
      .then(() => 'committed', (err: unknown) => err);
    await untilWaiting(hold);
    await hold.release({ dropClaim: true });
    expect(await committing).toBeInstanceOf(QueuedWorkClaimExpiredError);
    // Undone as a whole: no head, and the first batch is still queued under the claim.
    expect(await store.sessions.load(s, { kind: 'active_path' })).toBeNull();
    expect((await store.queue.list(s)).map((b) => b.batchId)).toContain(claim!.batches[0]!.batchId);
  });
});
