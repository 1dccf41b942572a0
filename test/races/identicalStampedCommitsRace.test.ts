/**
 * Identical stamped commits without an outbox (every runtime turn: one statement each) raced from
 * four store instances, 100 trials: every caller gets the one result and the turn lands once. The
 * losers' statements took their snapshot before the winner committed; they must still answer with
 * the stamp's result, not a fence or head error (src/store/postgres/commits.ts stampLandedMeanwhile).
 */
import { describe, expect, it } from 'vitest';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { minimalState, stamped, stateCommit, underLease } from '../conformance/support.js';
import { owner, raceStores, settle, textDraft } from './support.js';

const TRIALS = 100;
const fx = raceStores(4);

describe('race: identical stamped commits without an outbox', () => {
  it(`${TRIALS} trials × 4 callers: one result for all, one head revision`, async () => {
    const [first] = fx.stores;
    for (let trial = 0; trial < TRIALS; trial++) {
      const s = `stamp-race-${trial}`;
      await first!.queue.enqueue(textDraft(s, 'input'));
      const acquired = await first!.leases.tryClaim(s, owner('w'), 60_000);
      if (acquired.kind !== 'acquired') throw new Error('lease busy');
      const fence = leaseFence(acquired.lease);
      const claim = await first!.queue.claimReady({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 60_000, maxBatches: 1 });
      // Released in the commit, as a drain's last turn does: a loser's fence check then fails.
      const commit = underLease(stamped({ ...stateCommit(s, minimalState({ checkpoint: { turnIndex: 1 } })), completedQueueClaims: [queueClaimCompletion(claim!)] }, `turn-${trial}`), acquired.lease);
      const { values, errors } = await settle(fx.stores.map((store) => store.sessions.commit(commit)));
      expect(errors, `trial ${trial}`).toEqual([]);
      for (const result of values) expect(result).toEqual(values[0]);
      expect(values[0]!.headRevision).toBe(1);
      expect((await first!.sessions.load(s, { kind: 'active_path' }))!.headRevision).toBe(1);
    }
  }, 60_000);
});
