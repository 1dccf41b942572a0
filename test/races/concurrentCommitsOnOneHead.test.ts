/**
 * 8 concurrent commits on one session head, 200 trials: each trial's commits carry the same
 * live fence and the same CAS revision, and each completes the trial's one claim with its own
 * content and stamp. Exactly one wins; the losers change nothing (no node, no usage entry, no
 * stamp, the claim's batch completed once).
 */
import { describe, expect, it } from 'vitest';
import { HeadRevisionConflictError, SessionLeaseExpiredError, TurnlaneError } from '../../src/errors.js';
import type { RuntimeCommit, RuntimeCommitResult } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';
import { owner, raceStores, settle, textDraft } from './support.js';

const TRIALS = 200;
const COMMITTERS = 8;
const fx = raceStores(COMMITTERS);

function contender(sessionId: string, trial: number, who: number, expected: number, extra: Partial<RuntimeCommit>): RuntimeCommit {
  const nodeId = `t${trial}-c${who}`;
  const commit: RuntimeCommit = {
    sessionId,
    expectedHeadRevision: expected,
    state: {
      graph: { kind: 'append', nodes: [{ nodeId, parentNodeId: null, timestamp: trial, payload: { kind: 'event', event: { who } } }], leafNodeId: nodeId },
      checkpoint: { turnIndex: trial },
      agentFrames: [],
      currentAgentFrameId: null,
    },
    usageDeltas: [{ source: `c${who}`, model: 'race', usage: { inputTokens: who, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 } }],
    ...extra,
  };
  return { ...commit, turnStamp: { sessionId, turnId: `turn-${trial}-${who}`, hash: turnCommitHash(commit) } };
}

describe('race: concurrent commits on one session head', () => {
  it(`${COMMITTERS} committers × ${TRIALS} trials: exactly one wins, losers change nothing`, async () => {
    const [store] = fx.stores;
    const s = 'one-head';
    const acquired = await store!.leases.tryClaim(s, owner('holder'), 3_600_000);
    if (acquired.kind !== 'acquired') throw new Error('lease busy');
    const fence = leaseFence(acquired.lease);
    const raced: RuntimeCommit[][] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const batch = await store!.queue.enqueue(textDraft(s, `input ${trial}`));
      const claim = await store!.queue.claimReady({ sessionId: s, fence, owner: fence.owner, boundary: 'idle', ttlMs: 3_600_000, maxBatches: 1 });
      expect(claim?.batches.map((b) => b.batchId)).toEqual([batch.batchId]);
      const commits = fx.stores.map((_, who) => contender(s, trial, who, trial, { leaseFence: fence, completedQueueClaims: [queueClaimCompletion(claim!)] }));
      raced.push(commits);
      const { values, errors } = await settle(fx.stores.map((st, who) => st.sessions.commit(commits[who]!)));
      expect(values, `trial ${trial}`).toHaveLength(1);
      expect((values[0] as RuntimeCommitResult).headRevision).toBe(trial + 1);
      for (const err of errors) expect(err, `trial ${trial}`).toBeInstanceOf(HeadRevisionConflictError);
      expect(await store!.queue.list(s)).toEqual([]);
    }
    const read = await store!.sessions.load(s, { kind: 'full_graph' });
    expect(read!.headRevision).toBe(TRIALS);
    // One node and one usage entry per trial: a loser wrote neither.
    expect(read!.graph.nodes).toHaveLength(TRIALS);
    expect(read!.usageLedger).toHaveLength(TRIALS);
    const winners = read!.graph.nodes.map((n) => Number(n.nodeId.split('-c')[1]));
    expect(read!.usageLedger.map((u) => Number(u.source.slice(1)))).toEqual(winners);
    // A loser's stamp was never recorded: presenting its exact content again is not a replay
    // (no fence here, so a missing stamp is SESSION_LEASE_EXPIRED), while the winner's is.
    for (let trial = 0; trial < TRIALS; trial += 20) {
      const winner = winners[trial]!;
      const loser = (winner + 1) % COMMITTERS;
      const { leaseFence: _w, ...replay } = raced[trial]![winner]!;
      expect((await store!.sessions.commit(replay)).headRevision).toBe(trial + 1);
      const { leaseFence: _l, ...lost } = raced[trial]![loser]!;
      const err = await store!.sessions.commit(lost).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionLeaseExpiredError);
      expect((err as TurnlaneError).code).toBe('SESSION_LEASE_EXPIRED');
    }
  }, 60_000);
});
