/**
 * SQL used only by the benchmarks (bench/, spec 06 "Performance"), kept here because no SQL lives
 * outside src/store/postgres and db/. Nothing in the product calls these functions.
 *
 * - Setup: the run's database drop, server facts, bulk loads of queued batches (one
 *   INSERT … SELECT generate_series instead of N enqueues: 1M enqueues would take ~20 min, the
 *   bulk load ~30 s) and of graphile-worker jobs, and the peer's result table.
 * - P1, the ceiling: transactions shaped like turnlane's claim and commit with nothing else in
 *   them, sent the same way (BEGIN, lock + statement pipelined, COMMIT).
 *
 * Bulk-loaded rows are exactly what `enqueue` writes for an `after_current_turn_commit` text input
 * without a source key: only the ids differ (`<prefix>-s<session>` and `<prefix>-s<session>-<n>`).
 */
import postgres from 'postgres';
import type { Sql } from '../../../db/client.js';
import type { SlotPolicy } from '../contract.js';
import { textArray } from './arrays.js';

/** Drops a benchmark database, disconnecting whoever is still in it. Rows touched: the database. */
export async function benchDatabaseDrop(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name.startsWith('turnlane_bench_')) throw new Error(`refusing to drop ${name}: not a benchmark database`);
  url.pathname = '/postgres';
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await admin`drop database if exists ${admin(name)} with (force)`;
  } finally {
    await admin.end();
  }
}

/** The server's version string, e.g. "15.20 (Debian 15.20-0+deb12u1)". */
export async function benchServerVersion(sql: Sql): Promise<string> {
  const [row] = await sql<{ server_version: string }[]>`show server_version`;
  return row!.server_version;
}

export interface BenchBatchesSeed {
  /** Session ids are `${prefix}-s${index}`, batch ids `${prefix}-s${index}-${n}`. */
  prefix: string;
  sessions: number;
  perSession: number;
  slotPolicy: SlotPolicy;
  /** A group merge key for `join` batches; null joins nothing. */
  mergeKey: string | null;
}

export function benchSessionId(prefix: string, session: number): string {
  return `${prefix}-s${session}`;
}

export function benchBatchId(prefix: string, session: number, n: number): string {
  return `${prefix}-s${session}-${n}`;
}

/**
 * Inserts sessions × perSession queued batches in one statement, round-robin (every session's
 * first input, then every session's second, …, as many users typing at once would), then
 * refreshes the planner statistics. Rows touched: queued_batches. Returns the number inserted.
 */
export async function benchBatchesSeed(sql: Sql, seed: BenchBatchesSeed): Promise<number> {
  const rows = await sql`
    insert into queued_batches (batch_id, session_id, delivery_policy, slot_policy, merge_key, is_command, source_key,
      available_at_ms, enqueued_at_ms, payloads)
    select ${seed.prefix} || '-s' || s || '-' || n, ${seed.prefix} || '-s' || s, 'after_current_turn_commit', ${seed.slotPolicy},
      ${seed.mergeKey}::text, false, null, 0, floor(extract(epoch from now()) * 1000)::bigint,
      jsonb_build_array(jsonb_build_object('type', 'turn_input', 'input',
        jsonb_build_object('items', jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'input ' || n)))))
    from generate_series(0, ${seed.perSession - 1}) n, generate_series(0, ${seed.sessions - 1}) s
    order by n, s`;
  await sql`analyze queued_batches`;
  return rows.count;
}

/** Empties the queue and the leases between growth sizes (P7). Rows touched: both tables, all rows. */
export async function benchQueueTruncate(sql: Sql): Promise<void> {
  await sql`truncate queued_batches, session_leases`;
}

/** The graphile-worker peer's table: one row per job, the "turn result". */
export async function peerResultTableCreate(sql: Sql): Promise<void> {
  await sql`create table if not exists bench_peer_results (session_id text not null, seq integer not null, result jsonb not null)`;
}

/** The one insert each graphile-worker job makes (run through its own pg client, `$1…$3`). */
export const PEER_RESULT_INSERT = 'insert into bench_peer_results (session_id, seq, result) values ($1, $2, $3)';

/**
 * Adds sessions × perSession graphile-worker jobs (task `turn`, `queue_name` = session id, the
 * same round-robin order as benchBatchesSeed) with graphile_worker.add_jobs. Returns the count.
 */
export async function peerJobsSeed(sql: Sql, seed: Omit<BenchBatchesSeed, 'slotPolicy' | 'mergeKey'>): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from graphile_worker.add_jobs(array(
      select row('turn', json_build_object('sessionId', ${seed.prefix} || '-s' || s, 'seq', n), ${seed.prefix} || '-s' || s,
        null, null, null, null, null)::graphile_worker.job_spec
      from generate_series(0, ${seed.perSession - 1}) n, generate_series(0, ${seed.sessions - 1}) s
      order by n, s))`;
  return row!.count;
}

/** P1 setup: a held lease row, a session head and one queued batch per ceiling session. */
export async function ceilingSeed(sql: Sql, sessionIds: string[]): Promise<void> {
  await sql`
    insert into session_leases (session_id, owner_id, incarnation_id, lease_token, fencing_token, claimed_at_ms, expires_at_ms)
    select s, 'bench', 'ceiling', 'token', 1, 0, 9e15::bigint from unnest(${textArray(sql, sessionIds)}) s`;
  await sql`
    insert into sessions (session_id, head_revision, checkpoint_ref)
    select s, 1, 'ckpt:' || s || ':1' from unnest(${textArray(sql, sessionIds)}) s`;
  await sql`
    insert into queued_batches (batch_id, session_id, delivery_policy, slot_policy, is_command, available_at_ms, enqueued_at_ms, payloads)
    select s || '-0', s, 'after_current_turn_commit', 'exclusive', false, 0, 0, '[]'::jsonb from unnest(${textArray(sql, sessionIds)}) s`;
}

/**
 * P1 claim, shaped like turnlane's (claims.ts): one autocommit statement that locks the lease row
 * and stamps the session's head batch. Returns the stamped batch id (null if the session had none).
 */
export async function ceilingClaim(sql: Sql, sessionId: string): Promise<string | null> {
  const rows = await sql<{ batch_id: string }[]>`
    with fence as (
      select 1 from session_leases where session_id = ${sessionId} and lease_token = 'token' for update
    )
    update queued_batches set claim_id = 'c', claim_token = 't', claim_owner = '{}'::jsonb, claimed_at_ms = 1,
      claim_expires_at_ms = 9e15::bigint, claim_count = claim_count + 1
    where batch_id = (select batch_id from queued_batches where session_id = ${sessionId} and claim_token is null
      order by enqueue_seq limit 1) and exists (select 1 from fence)
    returning batch_id`;
  return rows[0]?.batch_id ?? null;
}

/**
 * P1 commit, shaped like turnlane's (commits.ts): one autocommit statement that locks the lease
 * row, moves the head + 1, inserts a node, deletes the claimed batch and inserts the next batch.
 * `turn` makes the ids unique.
 */
export async function ceilingCommit(sql: Sql, sessionId: string, batchId: string, turn: number): Promise<void> {
  await sql`
    with fence as (
      select 1 from session_leases where session_id = ${sessionId} and lease_token = 'token' for update
    ), head as (
      update sessions set head_revision = head_revision + 1 where session_id = ${sessionId} and exists (select 1 from fence)
      returning head_revision
    ), node as (
      insert into session_nodes (session_id, node_id, parent_node_id, revision, position, node)
      select ${sessionId}, ${`${sessionId}:${turn}`}, null, head_revision, 1, '{"kind":"event"}'::jsonb from head
    ), gone as (
      delete from queued_batches where batch_id = ${batchId} and claim_token = 't' and exists (select 1 from head)
    )
    insert into queued_batches (batch_id, session_id, delivery_policy, slot_policy, is_command, available_at_ms, enqueued_at_ms, payloads)
    select ${`${sessionId}-${turn + 1}`}, ${sessionId}, 'after_current_turn_commit', 'exclusive', false, 0, 0, '[]'::jsonb from head`;
}

/** Activity of the current database: its backends' process ids and its transactions so far. */
export interface BenchDatabaseActivity {
  backendPids: number[];
  transactions: number;
}

/** For bench/profile.ts: which server processes work for this database, and how many transactions it ran. */
export async function benchDatabaseActivity(sql: Sql): Promise<BenchDatabaseActivity> {
  const pids = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`;
  // pg_stat_database lags behind by up to stats_fetch_consistency's snapshot; clear it first.
  await sql`select pg_stat_clear_snapshot()`;
  const [row] = await sql<{ n: number }[]>`
    select (xact_commit + xact_rollback)::bigint as n from pg_stat_database where datname = current_database()`;
  return { backendPids: pids.map((p) => p.pid), transactions: row?.n ?? 0 };
}
