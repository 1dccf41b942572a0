/**
 * The drain's first round trip in Postgres (leases.acquireAndClaimNext): the lease, the first
 * claim and the session read in one autocommit statement.
 *
 * From one snapshot it reads the lease row (`prev`) and selects the group claimNext would take
 * (claim-steps.ts), looked for only when the lease is free (released, or never held) and no batch
 * waits to be dead-lettered. It takes the lease with the same upsert as tryClaim when there is
 * something to do: a group to claim, batches to dead-letter, or a lease that was not released. It
 * stamps the group only when it took a free lease from exactly the snapshot's holder generation
 * (fencing + 1): then no one committed between the snapshot and the lock, so the snapshot's
 * session read is current. Otherwise (a takeover, a re-entry, batches to dead-letter) the lease is
 * taken and `first` is null: the caller claims with claimNext, which handles those.
 */
import type { AcquireAndClaimNextResult, LeaseOwner } from '../contract.js';
import { parseAcquireAndClaimNext } from '../validate.js';
import type { BatchRow } from './batch-rows.js';
import { claimSteps, spentBatchesExist } from './claim-steps.js';
import { claimFromRows } from './claims.js';
import type { Fragment, PgContext, Tx } from './context.js';
import { isRefusal, refuse, runStatement } from './errors.js';
import { claimsOfPreviousHolderDrop, leaseFromRow, leaseRead, leaseTryClaim, leaseUpsertStatement, type LeaseRow } from './leases.js';
import { sessionFromLoadRow, sessionLoadQuery, type LoadRow } from './reads.js';

type FirstRow = BatchRow & {
  wanted: boolean;
  lease: LeaseRow | null;
  prev: (LeaseRow & { live: boolean }) | null;
  won: boolean;
  session: LoadRow | null;
};

/** A statement whose stamping raced a concurrent writer, or whose holder changed hands, runs again at most this often. */
const RUNS = 5;

function firstStatement(db: Tx, ctx: PgContext, sessionId: string, owner: LeaseOwner, ttlMs: number, maxBatches: number, maxAttempts?: number): Fragment {
  const now = ctx.clock.now();
  const spent = spentBatchesExist(db, ctx, sessionId, maxAttempts);
  const free = db`not exists (select 1 from prev where lease_token is not null)`;
  const steps = claimSteps(db, ctx, {
    sessionId,
    owner,
    ttlMs,
    selection: { kind: 'next', maxBatches },
    limit: maxBatches,
    maxAttempts,
    candidatesWhen: db`${free} and not (select yes from spent)`,
    stampWhen: db`exists (select 1 from won)`,
  });
  return db`
    with prev as (
      select *, (lease_token is not null and expires_at_ms > ${now}) as live from session_leases where session_id = ${sessionId}
    ), spent as (
      select ${spent} as yes
    ), ${steps.select}, wanted as (
      select exists (select 1 from picked) or (select yes from spent) or not ${free} as yes
    ), up as (
      ${leaseUpsertStatement(db, ctx, sessionId, owner, ttlMs, db`(select yes from wanted)`)}
    ), dropped as (
      ${claimsOfPreviousHolderDrop(db, sessionId)}
    ), won as (
      select 1 from up where ${free} and not (select yes from spent)
        and up.fencing_token = coalesce((select fencing_token from prev), 0) + 1
    ), ${steps.stamp}, checked as (
      select case when exists (select 1 from won) and (select count(*) from taken) <> (select count(*) from picked)
        then ${refuse(db, 'claim_race')} end as refused
    )
    select (select yes from wanted) as wanted, (select to_jsonb(u) from up u) as lease, (select to_jsonb(p) from prev p) as prev,
      exists (select 1 from won) as won,
      case when exists (select 1 from taken) then (select to_jsonb(r) from (${sessionLoadQuery(db, sessionId, { kind: 'active_path' })}) r) end as session,
      k.refused, t.*
    from checked k left join taken t on true
    order by t.rn`;
}

/** acquireAndClaimNext: see AcquireAndClaimNextRequest. Rows touched: the lease row, the stamped batches, the previous holder's claims on a takeover. */
export async function leaseAcquireAndClaimNext(ctx: PgContext, input: unknown): Promise<AcquireAndClaimNextResult> {
  const req = parseAcquireAndClaimNext(input, ctx.limits);
  for (let run = 1; run <= RUNS; run++) {
    let rows: FirstRow[];
    try {
      rows = await runStatement(
        () => firstStatement(ctx.sql as unknown as Tx, ctx, req.sessionId, req.owner, req.ttlMs, req.maxBatches, req.maxAttempts) as unknown as Promise<FirstRow[]>,
      );
    } catch (err) {
      if (isRefusal(err, 'claim_race')) continue;
      throw err;
    }
    const row = rows[0]!;
    if (row.lease) {
      const lease = leaseFromRow(row.lease);
      const claim = row.won ? claimFromRows(req.sessionId, req.owner, rows) : null;
      const session = row.session ? sessionFromLoadRow(req.sessionId, { kind: 'active_path' }, row.session) : null;
      return { kind: 'acquired', lease, first: claim ? { claim, session } : null };
    }
    if (!row.wanted) return { kind: 'idle' };
    // Wanted but not taken: a live holder. The snapshot's, if it was live then; else read it anew.
    if (row.prev?.live) return { kind: 'busy', holder: leaseFromRow(row.prev) };
    const holder = await runStatement(() => leaseRead(ctx.sql, ctx, req.sessionId));
    if (holder?.live) return { kind: 'busy', holder: leaseFromRow(holder) };
  }
  // Still racing after RUNS statements: the plain lease call decides, and the caller claims.
  const outcome = await leaseTryClaim(ctx, req.sessionId, req.owner, req.ttlMs);
  if (outcome.kind === 'busy') return outcome;
  return { kind: 'acquired', lease: outcome.lease, first: null };
}

