import { expect } from 'vitest';
import { leaseCompletion } from '../../src/store/drafts.js';
import { durableConformance } from './harness.js';
import { TEST_TTL_MS, testOwner } from './support.js';

// Twin of session_execution_lease_first_claim_excludes_concurrent_reopen_handles.
durableConformance('firstClaimExcludesConcurrentReopenHandles', async (store, ctx) => {
  const reopened = await ctx.open();
  // Several rounds, each on a session never leased before, so every round is a first claim.
  for (let round = 0; round < 10; round++) {
    const sessionId = `first-claim-race-${round}`;
    const [openClaim, reopenClaim] = await Promise.all([
      store.leases.tryClaim(sessionId, testOwner('owner-a'), TEST_TTL_MS),
      reopened.leases.tryClaim(sessionId, testOwner('owner-b'), TEST_TTL_MS),
    ]);
    const acquired = [openClaim, reopenClaim].filter((outcome) => outcome.kind === 'acquired');
    expect(acquired).toHaveLength(1);
    const winner = acquired[0]!;
    const loser = openClaim.kind === 'acquired' ? reopenClaim : openClaim;
    if (winner.kind !== 'acquired' || loser.kind !== 'busy') throw new Error('expected one acquired and one busy outcome');
    expect(winner.lease.fencingToken).toBe(1);
    expect(loser.holder.leaseToken).toBe(winner.lease.leaseToken);
    expect(loser.holder.owner).toEqual(winner.lease.owner);
    await store.leases.release(leaseCompletion(winner.lease));
    expect(await store.leases.get(sessionId)).not.toBeNull();
  }
});
