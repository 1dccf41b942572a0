/**
 * A process's heartbeat in Postgres (leases.renewHeld): every lease and claim it holds renewed in
 * one autocommit statement, one round trip, however many sessions it runs (was 1 + N statements
 * per session per interval: the lease and each claim).
 *
 * Leases: renewed where the fence matches exactly and the lease is live (as `renew`). Claims:
 * their rows are locked, and renewed only when every batch of the claim still carries it
 * unexpired (as `renewClaim`). The runtime pauses a session's renewals while its claim or commit
 * statement runs, so this statement never waits on a lease row that such a statement locked
 * before the batch rows it also wants (no lock cycle with claims and commits of the same process).
 */
import type { QueuedWorkClaim, RenewHeldRequest, RenewHeldResult, SessionLease } from '../contract.js';
import { parseRenewHeld } from '../validate.js';
import { claimedBatchFromRow, type BatchRow } from './batch-rows.js';
import type { PgContext } from './context.js';
import { runStatement } from './errors.js';
import { leaseFromRow, type LeaseRow } from './leases.js';

type RenewedRow = { kind: 'lease'; ord: number; row: LeaseRow } | { kind: 'claim'; ord: number; row: BatchRow };

/** renewHeld: see RuntimeStore.leases.renewHeld. Rows touched: the matching lease rows and claimed batch rows. */
export async function leasesRenewHeld(ctx: PgContext, req: RenewHeldRequest): Promise<RenewHeldResult> {
  const { ttlMs, leases, claims } = parseRenewHeld(req, ctx.limits);
  if (leases.length === 0 && claims.length === 0) return { leases: [], claims: [] };
  const now = ctx.clock.now();
  const fences = JSON.stringify(leases);
  const held = JSON.stringify(
    claims.map((c) => ({ sessionId: c.sessionId, claimId: c.claimId, claimToken: c.claimToken, batchIds: [...new Set(c.batches.map((b) => b.batchId))] })),
  );
  const rows = await runStatement(
    () => ctx.sql<RenewedRow[]>`
      with lf as (
        select e.ord, e.x->>'sessionId' as session_id, e.x->'owner'->>'ownerId' as owner_id,
          e.x->'owner'->>'incarnationId' as incarnation_id, e.x->>'leaseToken' as lease_token, (e.x->>'fencingToken')::bigint as fencing_token
        from jsonb_array_elements(${fences}::text::jsonb) with ordinality e(x, ord)
      ), renewed_leases as (
        update session_leases l set expires_at_ms = ${now} + ${ttlMs}::bigint
        from lf
        where l.session_id = lf.session_id and l.owner_id = lf.owner_id and l.incarnation_id = lf.incarnation_id
          and l.lease_token = lf.lease_token and l.fencing_token = lf.fencing_token and l.expires_at_ms > ${now}
        returning lf.ord, to_jsonb(l) as row
      ), cf as (
        select e.ord, e.x->>'sessionId' as session_id, e.x->>'claimId' as claim_id, e.x->>'claimToken' as claim_token,
          b.batch_id, jsonb_array_length(e.x->'batchIds') as n
        from jsonb_array_elements(${held}::text::jsonb) with ordinality e(x, ord)
          cross join lateral jsonb_array_elements_text(e.x->'batchIds') b(batch_id)
      ), mine as (
        select cf.ord, cf.n, q.batch_id from queued_batches q
        join cf on q.batch_id = cf.batch_id and q.session_id = cf.session_id and q.claim_id = cf.claim_id
          and q.claim_token = cf.claim_token and q.claim_expires_at_ms > ${now}
        for update of q
      ), whole as (
        select ord from mine group by ord, n having count(*) = n
      ), renewed_claims as (
        update queued_batches q set claim_expires_at_ms = ${now} + ${ttlMs}::bigint
        from mine m join whole w on w.ord = m.ord
        where q.batch_id = m.batch_id
        returning m.ord, to_jsonb(q) as row
      )
      select 'lease' as kind, ord, row from renewed_leases
      union all
      select 'claim' as kind, ord, row from renewed_claims`,
  );
  const leaseRows = new Map<number, LeaseRow>();
  const claimRows = new Map<number, Map<string, BatchRow>>();
  for (const r of rows) {
    const ord = Number(r.ord);
    if (r.kind === 'lease') leaseRows.set(ord, r.row);
    else claimRows.set(ord, (claimRows.get(ord) ?? new Map()).set(r.row.batch_id, r.row));
  }
  return {
    leases: leases.map((_, i): SessionLease | null => {
      const row = leaseRows.get(i + 1);
      return row ? leaseFromRow(row) : null;
    }),
    claims: claims.map((claim, i): QueuedWorkClaim | null => {
      const byId = claimRows.get(i + 1);
      if (!byId) return null;
      const first = byId.values().next().value as BatchRow;
      return { ...claim, expiresAtMs: first.claim_expires_at_ms!, batches: claim.batches.map((b) => claimedBatchFromRow(byId.get(b.batchId)!)) };
    }),
  };
}
