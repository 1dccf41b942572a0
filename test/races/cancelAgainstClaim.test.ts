/**
 * Cancel against claim, 500 trials: a batch is cancelled by one store instance while another
 * claims it. Exactly one of them gets it: never both, never neither.
 */
import { describe, expect, it } from 'vitest';
import { leaseFence } from '../../src/store/drafts.js';
import { owner, raceStores, textDraft } from './support.js';

const TRIALS = 500;
const fx = raceStores(2);

describe('race: cancel against claim', () => {
  it(`${TRIALS} trials: exactly one of cancel and claim takes the batch`, async () => {
    const [claimer, canceller] = fx.stores as [typeof fx.stores[0], typeof fx.stores[0]];
    const s = 'cancel-claim';
    const acquired = await claimer!.leases.tryClaim(s, owner('claimer'), 3_600_000);
    if (acquired.kind !== 'acquired') throw new Error('lease busy');
    const fence = leaseFence(acquired.lease);
    let claims = 0;
    let cancels = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const batch = await canceller!.queue.enqueue(textDraft(s, `input ${trial}`));
      // Alternate which call leaves first, so both orders of arrival are raced.
      const claimCall = () => claimer!.queue.claimReady({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 3_600_000, maxBatches: 1 });
      const cancelCall = () => canceller!.queue.cancel(s, batch.batchId);
      const [claim, cancelled] =
        trial % 2 === 0 ? await Promise.all([claimCall(), cancelCall()]) : await Promise.all([cancelCall(), claimCall()]).then(([c, k]) => [k, c] as const);
      const claimed = claim !== null && claim.batches.some((b) => b.batchId === batch.batchId);
      expect(claimed !== (cancelled !== null), `trial ${trial}: claimed ${claimed}, cancelled ${cancelled !== null}`).toBe(true);
      if (claimed) {
        claims++;
        expect(cancelled).toBeNull();
        expect(await canceller!.queue.get(batch.batchId)).not.toBeNull();
        // Complete it so the next trial's batch is the queue head.
        await claimer!.sessions.commit({
          sessionId: s,
          state: { graph: { kind: 'unchanged', leafNodeId: null }, checkpoint: { turnIndex: trial }, agentFrames: [], currentAgentFrameId: null },
          leaseFence: fence,
          completedQueueClaims: [{ sessionId: s, claimId: claim!.claimId, claimToken: claim!.claimToken, batchIds: [batch.batchId] }],
        });
      } else {
        cancels++;
        expect(cancelled!.status).toBe('cancelled');
        expect(await canceller!.queue.get(batch.batchId)).toBeNull();
      }
    }
    expect(claims + cancels).toBe(TRIALS);
    expect(await claimer!.queue.list(s)).toEqual([]);
  }, 60_000);
});
