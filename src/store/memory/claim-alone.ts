/** markClaimAlone in the reference model (the twin of src/store/postgres/claim-alone.ts). */
import type { QueuedWorkClaim } from '../contract.js';
import { assertClaimRef } from '../validate.js';
import { isClaimLive, storeNow, type MemoryState } from './state.js';

/** Marks the claim's rows that still carry its id and token unexpired; true when every batch was marked. */
export function claimMarkAlone(state: MemoryState, claim: QueuedWorkClaim): boolean {
  assertClaimRef(claim);
  const now = storeNow(state);
  const batchIds = [...new Set(claim.batches.map((b) => b.batchId))];
  let marked = 0;
  for (const batchId of batchIds) {
    const row = state.batches.get(batchId);
    if (!row || row.batch.sessionId !== claim.sessionId || !isClaimLive(row.claim, now)) continue;
    if (row.claim.claimId !== claim.claimId || row.claim.claimToken !== claim.claimToken) continue;
    row.claim.alone = true;
    marked++;
  }
  return marked === batchIds.length;
}
