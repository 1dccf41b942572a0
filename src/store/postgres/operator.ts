/**
 * Operator read views in Postgres (src/store/operator-types.ts): what the dashboard, the CLI and
 * the HTTP API show of sessions. Read-only; never returns a lease or claim token. Each view is
 * one statement, so every column of a row comes from one snapshot.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { SessionOverview, TaskSessionStatus, TurnCommitRecord } from '../contract.js';
import { assertSessionId } from '../validate.js';
import { assertAgentId } from '../policy-validate.js';
import type { Fragment, PgContext } from './context.js';
import { runStatement } from './errors.js';

interface OverviewRow {
  session_id: string;
  head_revision: number | null;
  last_commit_at_ms: number | null;
  owner_id: string | null;
  fencing_token: number | null;
  expires_at_ms: number | null;
  live: boolean | null;
  queue_depth: number;
  held_count: number;
  dead_letter_count: number;
  status: TaskSessionStatus | null;
  agent_id: string | null;
  calls_made: number | null;
  call_budget: number | null;
}

function assertLimit(value: unknown, max: number, field: string): number {
  if (value === undefined) return max === 1000 ? 100 : 20;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw InvalidInputError.field(field, `an integer from 1 to ${max}`, describeValue(value));
  }
  return value;
}

function toOverview(row: OverviewRow): SessionOverview {
  return {
    sessionId: row.session_id,
    status: row.status ?? 'implicit',
    agentId: row.agent_id,
    headRevision: row.head_revision ?? 0,
    lastCommitAtMs: row.last_commit_at_ms,
    lease:
      row.owner_id === null
        ? null
        : { ownerId: row.owner_id, fencingToken: row.fencing_token!, expiresAtMs: row.expires_at_ms!, live: row.live === true },
    queueDepth: row.queue_depth,
    heldCount: row.held_count,
    deadLetterCount: row.dead_letter_count,
    callsMade: row.calls_made,
    callBudget: row.call_budget,
  };
}

/**
 * The overview columns for the session ids of `ids` (a fragment selecting `session_id`). Counts
 * Ids compare in byte order (collate "C"), as the in-memory model sorts them, whatever the
 * database's default collation; that gives up the id indexes for the range scan, which an operator
 * page can afford (a full scan of 100k ids is tens of milliseconds). Counts
 * are per-session index lookups: queued_batches (session_id, enqueue_seq), dead_letters
 * (session_id, …) and turn_stamps (session_id, turn_id).
 */
function overviewSelect(ctx: PgContext, ids: Fragment): Fragment {
  const sql = ctx.sql;
  const now = ctx.clock.now();
  return sql`
    with ids as (${ids}), now as (select ${now} as ms)
    select i.session_id, s.head_revision,
      (select max(t.committed_at_ms) from turn_stamps t where t.session_id = i.session_id) as last_commit_at_ms,
      l.owner_id, l.fencing_token, l.expires_at_ms,
      (l.lease_token is not null and l.expires_at_ms > (select ms from now)) as live,
      (select count(*)::int from queued_batches q where q.session_id = i.session_id) as queue_depth,
      (select count(*)::int from queued_batches q where q.session_id = i.session_id
        and q.claim_token is not null and q.claim_expires_at_ms > (select ms from now)) as held_count,
      (select count(*)::int from dead_letters d where d.session_id = i.session_id) as dead_letter_count,
      -- A time-expired session reads as expired before useTools marks it (the 24 h cap applies on read).
      case when ts.status = 'active' and ts.created_at_ms + least(ts.time_limit_ms, 86400000) <= (select ms from now)
        then 'expired' else ts.status end as status,
      ts.agent_id, ts.calls_made, ts.call_budget
    from ids i
    left join sessions s on s.session_id = i.session_id
    left join session_leases l on l.session_id = i.session_id and l.fencing_token > 0
    left join task_sessions ts on ts.session_id = i.session_id
    order by i.session_id collate "C"`;
}

/**
 * operatorListSessions: every session the store knows (a commit, a lease, queued work, a dead
 * letter or a task session record), ordered by id after `afterSessionId`, at most `limit`.
 * With `agentId`, only task sessions of that agent. Rows touched: none.
 */
export async function operatorListSessions(
  ctx: PgContext,
  request: { afterSessionId?: string; limit?: number; agentId?: string } = {},
): Promise<SessionOverview[]> {
  const limit = assertLimit(request.limit, 1000, 'limit');
  const after = request.afterSessionId ?? '';
  if (after !== '') assertSessionId(after, 'afterSessionId');
  // The same rule as every other agent id (storable text: a NUL never reaches Postgres).
  if (request.agentId !== undefined) assertAgentId(request.agentId, 'agentId');
  const sql = ctx.sql;
  const ids =
    request.agentId !== undefined
      ? sql`select session_id from task_sessions where agent_id = ${request.agentId} and session_id collate "C" > ${after} order by session_id collate "C" limit ${limit}`
      : sql`select session_id from (
          (select session_id from sessions where session_id collate "C" > ${after} order by session_id collate "C" limit ${limit})
          union (select session_id from session_leases where fencing_token > 0 and session_id collate "C" > ${after} order by session_id collate "C" limit ${limit})
          union (select session_id from queued_batches where session_id collate "C" > ${after} group by session_id order by session_id collate "C" limit ${limit})
          union (select session_id from dead_letters where session_id collate "C" > ${after} group by session_id order by session_id collate "C" limit ${limit})
          union (select session_id from task_sessions where session_id collate "C" > ${after} order by session_id collate "C" limit ${limit})
        ) u order by session_id collate "C" limit ${limit}`;
  const rows = await runStatement(() => sql<OverviewRow[]>`${overviewSelect(ctx, ids)}`);
  return rows.map(toOverview);
}

/** operatorGetSession: one overview; null when no table mentions the session. Rows touched: none. */
export async function operatorGetSession(ctx: PgContext, sessionId: string): Promise<SessionOverview | null> {
  assertSessionId(sessionId);
  const sql = ctx.sql;
  const ids = sql`select ${sessionId}::text as session_id where exists (select 1 from sessions where session_id = ${sessionId})
    or exists (select 1 from session_leases where session_id = ${sessionId} and fencing_token > 0)
    or exists (select 1 from queued_batches where session_id = ${sessionId})
    or exists (select 1 from dead_letters where session_id = ${sessionId})
    or exists (select 1 from task_sessions where session_id = ${sessionId})`;
  const rows = await runStatement(() => sql<OverviewRow[]>`${overviewSelect(ctx, ids)}`);
  return rows[0] ? toOverview(rows[0]) : null;
}

/**
 * operatorRecentCommits: the session's latest stamped turn commits, newest first. Reads
 * turn_stamps by its (session_id, turn_id) key and sorts the session's stamps: fine for operator
 * views; a session with very many turns would want an index on (session_id, head_revision).
 */
export async function operatorRecentCommits(ctx: PgContext, sessionId: string, limit?: number): Promise<TurnCommitRecord[]> {
  assertSessionId(sessionId);
  const n = assertLimit(limit, 200, 'limit');
  const sql = ctx.sql;
  const rows = await runStatement(
    () => sql<{ turn_id: string; head_revision: number; committed_at_ms: number; enqueued: number }[]>`
      select turn_id, head_revision, committed_at_ms, jsonb_array_length(enqueued_batches) as enqueued
      from turn_stamps where session_id = ${sessionId}
      order by head_revision desc, committed_at_ms desc limit ${n}`,
  );
  return rows.map((r) => ({ turnId: r.turn_id, headRevision: r.head_revision, committedAtMs: r.committed_at_ms, enqueuedBatchCount: r.enqueued }));
}
