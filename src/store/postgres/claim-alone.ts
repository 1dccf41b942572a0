/**
 * markClaimAlone in Postgres (docs/store-semantics.md, "A worker's death is charged only to a
 * turn that ran alone"): the claim's holder says it runs the claim's turn with no other claim in
 * flight in its process, so if that process dies the takeover (leases.ts) can charge the death to
 * this claim's batches and to no one else.
 */
import type { QueuedWorkClaim } from '../contract.js';
import { assertClaimRef } from '../validate.js';
import type { PgContext } from './context.js';
import { runStatement } from './errors.js';

/**
 * claimMarkAlone: sets alone_claim_id = claim_id on the claim's rows that still carry its id and
 * token unexpired. Rows touched: those rows. True when every batch of the claim was marked; false
 * (and whatever matched marked) when the claim no longer holds them all.
 */
export async function claimMarkAlone(ctx: PgContext, claim: QueuedWorkClaim): Promise<boolean> {
  assertClaimRef(claim);
  const batchIds = [...new Set(claim.batches.map((b) => b.batchId))];
  const rows = await runStatement(
    () => ctx.sql<{ batch_id: string }[]>`
      update queued_batches set alone_claim_id = claim_id
      where session_id = ${claim.sessionId} and batch_id = any(${ctx.sql.array(batchIds)}::text[])
        and claim_id = ${claim.claimId} and claim_token = ${claim.claimToken} and claim_expires_at_ms > ${ctx.clock.now()}
      returning batch_id`,
  );
  return rows.length === batchIds.length;
}
