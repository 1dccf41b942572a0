/**
 * P9 counts heartbeat statements by their text (bench/statement-stats.ts isRenewal): the texts
 * below are pg_stat_statements' normalized forms of today's store statements.
 */
import { describe, expect, it } from 'vitest';
import { isRenewal } from '../../bench/statement-stats.js';

describe('isRenewal', () => {
  it('recognizes the lease renewal and the claim renewal', () => {
    expect(
      isRenewal(
        'update session_leases set expires_at_ms = (floor(extract($9 from now()) * $10)::bigint + $1::bigint) + $2::bigint\n      where session_id = $3 and owner_id = $4 returning *',
      ),
    ).toBe(true);
    expect(
      isRenewal(
        'with mine as ( select batch_id from queued_batches where session_id = $1 and batch_id = any($2::text[]) and claim_id = $3 for update )\n update queued_batches q set claim_expires_at_ms = $7 + $8::bigint where q.batch_id in (select batch_id from mine) and (select count(*) from mine) = $9 returning q.*',
      ),
    ).toBe(true);
    expect(isRenewal('with a as (update session_leases set expires_at_ms = $1 where owner_id = $2 returning 1), b as (update queued_batches set claim_expires_at_ms = $1 where claim_owner = $3 returning 1) select count(*) from a, b')).toBe(true);
  });

  it('rejects claims, releases, commits and reads', () => {
    expect(isRenewal('update queued_batches q set claim_id = $1, claim_token = $2, claim_expires_at_ms = $5 + $6::bigint, claim_count = q.claim_count + $7 where q.batch_id = $8 returning q.*')).toBe(false);
    expect(isRenewal('update session_leases set expires_at_ms = greatest($1, $2), lease_token = null where session_id = $3')).toBe(false);
    expect(isRenewal('with a as (update session_leases set expires_at_ms = $1 where session_id = $2 returning 1) delete from queued_batches where batch_id = $3')).toBe(false);
    expect(isRenewal('select * from session_leases where expires_at_ms = $1')).toBe(false);
    expect(isRenewal('BEGIN')).toBe(false);
  });
});
