/**
 * Task sessions in Postgres (spec/04-session-policy.md), table task_sessions. Every decision that
 * consumes budget, moves the rate window or changes a status is one statement (or one
 * transaction) against the database clock, so it is exact across processes: useTools locks the
 * row (FOR UPDATE) and decides and writes in the same statement.
 *
 * Locks: enqueue and commit take the row FOR SHARE in the statement that writes; close,
 * closeAllForAgent and cleanup take it FOR UPDATE in a first statement and cancel batches in a
 * second one, whose snapshot therefore includes every batch an enqueue committed before the lock.
 */
import { SessionAlreadyExistsError, TooManySessionsError } from '../../errors.js';
import type { CreateTaskSessionRequest, DataSensitivity, TaskSession, TaskSessionFilter, TaskSessionStatus, ToolUseReceipt, UseToolsOptions } from '../policy-types.js';
import { draftRefusal, refusalError, type PolicyRefusal, type PolicySnapshot } from '../policy-refusals.js';
import {
  MAX_TIME_LIMIT_MS,
  SENSITIVITIES,
  assertAgentId,
  assertMaxActive,
  normalizeTaskSessionRequest,
  parseCloseOptions,
  parseFilter,
  parseUseTools,
  sensitivityRank,
  unauthorizedTools,
  type NormalizedTaskSessionRequest,
} from '../policy-validate.js';
import { assertSessionId, type NormalizedDraft } from '../validate.js';
import { textArray } from './arrays.js';
import type { Db, Fragment, PgContext, Tx } from './context.js';
import { runStatement, runTransaction } from './errors.js';
import { batchHeld, sourceKeysRemember } from './queue.js';
import { assertTenantId, tenantOrDefault } from '../tenants.js';
import { sessionWithoutInput, tenantClaimStep, tenantOwns } from './tenants.js';

interface TaskSessionRow {
  session_id: string;
  agent_id: string;
  delegation_chain_snapshot: string[];
  declared_intent: string;
  authorized_tools: string[];
  call_budget: number;
  calls_made: number;
  rate_limit_per_window: number | null;
  rate_limit_window_secs: number;
  time_limit_ms: number;
  data_sensitivity_ceiling: DataSensitivity;
  status: TaskSessionStatus;
  created_at_ms: number;
  expires_at_ms: number;
  closed_at_ms: number | null;
}

function sessionFromRow(row: TaskSessionRow): TaskSession {
  return {
    sessionId: row.session_id,
    agentId: row.agent_id,
    delegationChainSnapshot: row.delegation_chain_snapshot,
    declaredIntent: row.declared_intent,
    authorizedTools: row.authorized_tools,
    callBudget: row.call_budget,
    callsMade: row.calls_made,
    rateLimitPerWindow: row.rate_limit_per_window,
    rateLimitWindowSecs: row.rate_limit_window_secs,
    timeLimitMs: row.time_limit_ms,
    dataSensitivityCeiling: row.data_sensitivity_ceiling,
    status: row.status,
    createdAtMs: row.created_at_ms,
    expiresAtMs: row.expires_at_ms,
    closedAtMs: row.closed_at_ms,
  };
}

/** SQL: the capped time limit of row alias `t` (24 h at most, whatever the row says). */
function cappedLimit(db: Db): Fragment {
  return db`least(t.time_limit_ms, ${MAX_TIME_LIMIT_MS}::bigint)`;
}

/** SQL: the status of row alias `t` as read: an active session past its time limit reads 'expired'. */
function statusAsRead(db: Db, ctx: PgContext): Fragment {
  return db`(case when t.status = 'active' and ${ctx.clock.now()} >= t.created_at_ms + ${cappedLimit(db)} then 'expired' else t.status end)`;
}

/** SQL: the columns of a TaskSessionRow from row alias `t`, as read. */
function sessionColumns(db: Db, ctx: PgContext): Fragment {
  return db`t.session_id, t.agent_id, t.delegation_chain_snapshot, t.declared_intent, t.authorized_tools, t.call_budget,
    t.calls_made, t.rate_limit_per_window, t.rate_limit_window_secs, ${cappedLimit(db)} as time_limit_ms,
    t.data_sensitivity_ceiling, ${statusAsRead(db, ctx)} as status, t.created_at_ms,
    t.created_at_ms + ${cappedLimit(db)} as expires_at_ms, t.closed_at_ms`;
}

/** SQL: the rank (0–3) of row alias `t`'s sensitivity ceiling. */
function ceilingRank(db: Db): Fragment {
  return db`(array_position(${textArray(db, [...SENSITIVITIES])}, t.data_sensitivity_ceiling) - 1)`;
}

/**
 * Inserts a new active record (callsMade 0, rate window starting now) owned by `tenantId`. Rows
 * touched: one task_sessions row, the session_tenants row when nobody owned the session. Returns
 * null (nothing written) when the session id has a record, is another tenant's, or has accepted
 * input: a create never takes over a session its producer already uses.
 */
async function sessionInsert(db: Db, ctx: PgContext, r: NormalizedTaskSessionRequest, tenantId: string, capGate: Fragment): Promise<TaskSession | null> {
  const now = ctx.clock.now();
  const fresh = db`not exists (select 1 from task_sessions where session_id = ${r.sessionId}) and ${sessionWithoutInput(db, r.sessionId)} and ${capGate}`;
  const rows = await db<TaskSessionRow[]>`
    with owner as (${tenantClaimStep(db, ctx, r.sessionId, tenantId, fresh)})
    insert into task_sessions as t (session_id, agent_id, delegation_chain_snapshot, declared_intent, authorized_tools, call_budget,
      calls_made, rate_limit_per_window, rate_limit_window_secs, rate_window_start_ms, rate_window_calls, time_limit_ms,
      data_sensitivity_ceiling, status, created_at_ms, closed_at_ms)
    select ${r.sessionId}, ${r.agentId}, ${JSON.stringify(r.delegationChainSnapshot)}::text::jsonb, ${r.declaredIntent},
      ${textArray(db, r.authorizedTools)}, ${r.callBudget}, 0, ${r.rateLimitPerWindow}::int, ${r.rateLimitWindowSecs}, ${now}, 0,
      ${r.timeLimitMs}::bigint, ${r.dataSensitivityCeiling}, 'active', ${now}, null
    where ${fresh} and ${tenantOwns(db, r.sessionId, tenantId)}
    on conflict (session_id) do nothing
    returning ${sessionColumns(db, ctx)}`;
  return rows[0] ? sessionFromRow(rows[0]) : null;
}

function alreadyExists(sessionId: string): SessionAlreadyExistsError {
  return new SessionAlreadyExistsError(`task session ${sessionId} already exists`, { sessionId });
}

/** create: one insert. SessionAlreadyExistsError when the id exists. */
export async function taskSessionCreate(ctx: PgContext, request: CreateTaskSessionRequest): Promise<TaskSession> {
  const r = normalizeTaskSessionRequest(request);
  const tenantId = tenantOrDefault(request?.tenantId, 'request.tenantId');
  const created = await runStatement(() => sessionInsert(ctx.sql, ctx, r, tenantId, ctx.sql`true`));
  if (!created) throw alreadyExists(r.sessionId);
  return created;
}

/** SQL: active-as-read sessions of an agent; with a tenant, of that tenant's sessions only. */
function activeCount(db: Db, ctx: PgContext, agentId: string, tenantId: string | null): Fragment {
  return db`(select count(*)::int from task_sessions t
    where t.agent_id = ${agentId} and t.status = 'active' and ${ctx.clock.now()} < t.created_at_ms + ${cappedLimit(db)}
      and (${tenantId}::text is null
        or exists (select 1 from session_tenants o where o.session_id = t.session_id and o.tenant_id = ${tenantId}::text)))`;
}

/**
 * createIfUnderCap: one transaction. A transaction-scoped advisory lock on the agent serializes
 * capped creates of one agent; the insert runs only while the active count is under the cap. The
 * three statements are awaited one by one: sent pipelined (Promise.all), 6 concurrent creates
 * with a cap of 2 all succeeded, so the insert's snapshot did not wait for the lock. Rows touched: one task_sessions row.
 * TooManySessionsError (checked first) or SessionAlreadyExistsError when nothing was inserted.
 */
export async function taskSessionCreateIfUnderCap(ctx: PgContext, request: CreateTaskSessionRequest, maxActivePerAgent: number): Promise<TaskSession> {
  assertMaxActive(maxActivePerAgent);
  const r = normalizeTaskSessionRequest(request);
  const tenantId = tenantOrDefault(request?.tenantId, 'request.tenantId');
  return runTransaction(ctx.sql, async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`turnlane.task_sessions.agent:${tenantId}:${r.agentId}`}, 0))`;
    const created = await sessionInsert(tx, ctx, r, tenantId, tx`${activeCount(tx, ctx, r.agentId, tenantId)} < ${maxActivePerAgent}::int`);
    const counted = await tx<{ current: number }[]>`select ${activeCount(tx, ctx, r.agentId, tenantId)} as current`;
    if (created) return created;
    const current = counted[0]!.current;
    if (current >= maxActivePerAgent) {
      throw new TooManySessionsError(`agent ${r.agentId} has ${current} active sessions, the limit is ${maxActivePerAgent}`, {
        agentId: r.agentId,
        limit: maxActivePerAgent,
        current,
      });
    }
    throw alreadyExists(r.sessionId);
  });
}

/** get: the record as read; null without one (or once cleanup removed it). Rows touched: none. */
export async function taskSessionGet(ctx: PgContext, sessionId: string): Promise<TaskSession | null> {
  assertSessionId(sessionId);
  const rows = await runStatement(
    () => ctx.sql<TaskSessionRow[]>`select ${sessionColumns(ctx.sql, ctx)} from task_sessions t where t.session_id = ${sessionId} and t.removed_at_ms is null`,
  );
  return rows[0] ? sessionFromRow(rows[0]) : null;
}

/** list: by creation time then session id; the status filter applies to the status as read. Rows touched: none. */
export async function taskSessionList(ctx: PgContext, filter?: TaskSessionFilter): Promise<TaskSession[]> {
  const f = parseFilter(filter);
  const sql = ctx.sql;
  const rows = await runStatement(
    () => sql<TaskSessionRow[]>`
      select ${sessionColumns(sql, ctx)} from task_sessions t
      where t.removed_at_ms is null and (${f.agentId}::text is null or t.agent_id = ${f.agentId}::text)
        and (${f.status}::text is null or ${statusAsRead(sql, ctx)} = ${f.status}::text)
      order by t.created_at_ms, t.session_id
      limit ${f.limit}`,
  );
  return rows.map(sessionFromRow);
}

/** countActiveForAgent: active-as-read records of the agent (index (agent_id, status)). Rows touched: none. */
export async function taskSessionCountActiveForAgent(ctx: PgContext, agentId: string, tenantId?: string): Promise<number> {
  assertAgentId(agentId);
  if (tenantId !== undefined) assertTenantId(tenantId);
  const rows = await runStatement(() => ctx.sql<{ n: number }[]>`select ${activeCount(ctx.sql, ctx, agentId, tenantId ?? null)} as n`);
  return rows[0]!.n;
}

interface UseToolsRow {
  refusal: PolicyRefusal['kind'] | null;
  agent_id: string;
  authorized_tools: string[];
  data_sensitivity_ceiling: DataSensitivity;
  call_budget: number;
  calls_made: number;
  rate_limit_per_window: number | null;
  rate_limit_window_secs: number;
  rate_window_start_ms: number;
  window_passed: boolean;
  window_calls: number;
  now_ms: number;
  expires_at_ms: number;
}

/**
 * useTools: one statement. Locks the record (FOR UPDATE), computes the first refusal in the
 * documented order, and writes only when admitted (callsMade + n, the rate window restarted when it
 * had passed, else its count + n) or when the session turns out expired (status 'expired').
 * Rows touched: the session's task_sessions row. SessionNotFoundError when there is none.
 */
export async function taskSessionUseTools(ctx: PgContext, sessionId: string, names: string[], options?: UseToolsOptions): Promise<ToolUseReceipt> {
  const input = parseUseTools(sessionId, names, options);
  const n = input.names.length;
  const agentId = input.options.agentId ?? null;
  const rank = input.options.sensitivity ? sensitivityRank(input.options.sensitivity) : null;
  const sql = ctx.sql;
  const rows = await runStatement(
    () => sql<UseToolsRow[]>`
      with cur as (
        select t.*, ${ctx.clock.now()} as now_ms, t.created_at_ms + ${cappedLimit(sql)} as expires_at_ms, ${ceilingRank(sql)} as ceiling_rank
        from task_sessions t where t.session_id = ${sessionId} for update
      ), win as (
        select cur.*, cur.now_ms >= cur.rate_window_start_ms + cur.rate_limit_window_secs * 1000::bigint as window_passed
        from cur
      ), verdict as (
        select win.*, case when win.window_passed then 0 else win.rate_window_calls end as window_calls,
          case
            when ${agentId}::text is not null and win.agent_id <> ${agentId}::text then 'agent_mismatch'
            when win.status = 'closed' then 'closed'
            when win.status = 'expired' or win.now_ms >= win.expires_at_ms then 'expired'
            when not (${textArray(sql, input.names)} <@ win.authorized_tools) then 'tool_not_authorized'
            when ${rank}::int is not null and ${rank}::int > win.ceiling_rank then 'sensitivity'
            when win.calls_made + ${n}::int > win.call_budget then 'budget'
            when win.rate_limit_per_window is not null
              and (case when win.window_passed then 0 else win.rate_window_calls end) + ${n}::int > win.rate_limit_per_window then 'rate_limited'
          end as refusal
        from win
      ), written as (
        update task_sessions t set
          status = case when v.refusal = 'expired' then 'expired' else v.status end,
          calls_made = v.calls_made + case when v.refusal is null then ${n}::int else 0 end,
          rate_window_start_ms = case when v.refusal is null and v.window_passed then v.now_ms else v.rate_window_start_ms end,
          rate_window_calls = case when v.refusal is null then v.window_calls + ${n}::int else v.rate_window_calls end
        from verdict v
        where t.session_id = v.session_id
          and ((v.refusal = 'expired' and v.status = 'active') or (v.refusal is null and ${n}::int > 0))
      )
      select refusal, agent_id, authorized_tools, data_sensitivity_ceiling, call_budget, calls_made, rate_limit_per_window,
        rate_limit_window_secs, rate_window_start_ms, window_passed, window_calls, now_ms, expires_at_ms
      from verdict`,
  );
  const row = rows[0];
  if (!row) throw refusalError(sessionId, { kind: 'not_found' });
  const windowMs = row.rate_limit_window_secs * 1000;
  switch (row.refusal) {
    case null:
      return {
        callsMade: row.calls_made + n,
        callBudget: row.call_budget,
        windowRemaining: row.rate_limit_per_window === null ? null : row.rate_limit_per_window - (row.window_calls + n),
      };
    case 'agent_mismatch':
      throw refusalError(sessionId, { kind: 'agent_mismatch', agentId: agentId! });
    case 'closed':
      throw refusalError(sessionId, { kind: 'closed' });
    case 'expired':
      throw refusalError(sessionId, { kind: 'expired', expiresAtMs: row.expires_at_ms });
    case 'tool_not_authorized':
      throw refusalError(sessionId, { kind: 'tool_not_authorized', tools: unauthorizedTools(input.names, row.authorized_tools) });
    case 'sensitivity':
      throw refusalError(sessionId, { kind: 'sensitivity', sensitivity: input.options.sensitivity!, ceiling: row.data_sensitivity_ceiling });
    case 'budget':
      throw refusalError(sessionId, { kind: 'budget', limit: row.call_budget, used: row.calls_made, requested: n });
    case 'rate_limited':
      throw refusalError(sessionId, {
        kind: 'rate_limited',
        limit: row.rate_limit_per_window!,
        windowSecs: row.rate_limit_window_secs,
        requested: n,
        retryAfterMs: row.window_passed ? windowMs : row.rate_window_start_ms + windowMs - row.now_ms,
      });
    default:
      throw new Error(`unknown refusal ${String(row.refusal)}`);
  }
}

/**
 * Closes the given (already locked) sessions and cancels their unclaimed batches, remembering the
 * source keys as 'cancelled' (what queue.cancel does to each). A closed session keeps its
 * closedAtMs. Rows touched: those task_sessions rows, their unheld queued_batches and source_keys.
 */
function sessionsCloseAndCancel(tx: Tx, ctx: PgContext, sessionIds: string[]): Fragment {
  const now = ctx.clock.now();
  return tx`
    with closing as (
      update task_sessions set status = 'closed', closed_at_ms = coalesce(closed_at_ms, ${now})
      where session_id = any(${textArray(tx, sessionIds)})
      returning session_id
    ), gone as (
      delete from queued_batches where session_id = any(${textArray(tx, sessionIds)}) and not ${batchHeld(ctx)}
      returning *
    ), remembered as (${sourceKeysRemember(tx, ctx, 'cancelled')})
    select count(*)::int as n from closing`;
}

/**
 * close: one transaction: lock the record (FOR UPDATE), check it exists and the stated agent,
 * then close and cancel the unclaimed batches (also when it was closed already: idempotent).
 */
export async function taskSessionClose(ctx: PgContext, sessionId: string, options?: { agentId?: string }): Promise<TaskSession> {
  assertSessionId(sessionId);
  const { agentId } = parseCloseOptions(options);
  return runTransaction(ctx.sql, async (tx) => {
    const [locked] = await tx<{ agent_id: string }[]>`
      select agent_id from task_sessions where session_id = ${sessionId} and removed_at_ms is null for update`;
    if (!locked) throw refusalError(sessionId, { kind: 'not_found' });
    if (agentId && agentId !== locked.agent_id) throw refusalError(sessionId, { kind: 'agent_mismatch', agentId });
    await sessionsCloseAndCancel(tx, ctx, [sessionId]);
    const [row] = await tx<TaskSessionRow[]>`select ${sessionColumns(tx, ctx)} from task_sessions t where t.session_id = ${sessionId}`;
    return sessionFromRow(row!);
  });
}

/** closeAllForAgent: one transaction: lock the agent's active-as-read records, then close them and cancel their unclaimed batches. */
export async function taskSessionCloseAllForAgent(ctx: PgContext, agentId: string): Promise<number> {
  assertAgentId(agentId);
  return runTransaction(ctx.sql, async (tx) => {
    const locked = await tx<{ session_id: string }[]>`
      select t.session_id from task_sessions t
      where t.agent_id = ${agentId} and t.status = 'active' and ${ctx.clock.now()} < t.created_at_ms + ${cappedLimit(tx)}
      for update`;
    if (locked.length === 0) return 0;
    const closed = (await sessionsCloseAndCancel(tx, ctx, locked.map((r) => r.session_id))) as unknown as { n: number }[];
    return closed[0]!.n;
  });
}

/**
 * cleanup: one transaction: lock the records closed, or past their time limit, at least
 * taskSessionRetentionMs ago and not removed yet; then remove them and every queued batch of
 * those sessions (held or not), remembering source keys as 'cancelled'. Returns how many records.
 *
 * A removed record is not deleted: the row stays with removed_at_ms set, its status made durable
 * ('expired' written for a session past its limit) and its tools, delegation chain and intent
 * emptied. Deleting it turned the id into an implicit session: enqueue accepted and tools.use
 * unlimited (issue 13). An update also keeps every concurrent reader exact: an enqueue, commit or
 * useTools waiting on the row lock reads the removed row afterwards (closed or expired), where a
 * deleted row would have left it with a snapshot from before and no record at all.
 */
export async function taskSessionCleanup(ctx: PgContext): Promise<number> {
  return runTransaction(ctx.sql, async (tx) => {
    const now = ctx.clock.now();
    const cutoff = tx`${now} - ${ctx.taskSessionRetentionMs}::bigint`;
    const locked = await tx<{ session_id: string }[]>`
      select t.session_id from task_sessions t
      where t.removed_at_ms is null
        and ((t.status = 'closed' and t.closed_at_ms <= ${cutoff})
          or (t.status <> 'closed' and t.created_at_ms + ${cappedLimit(tx)} <= ${cutoff}))
      for update`;
    if (locked.length === 0) return 0;
    const ids = locked.map((r) => r.session_id);
    const [removed] = await tx<{ n: number }[]>`
      with dropped as (
        update task_sessions t set removed_at_ms = ${now}, status = ${statusAsRead(tx, ctx)},
          authorized_tools = '{}', delegation_chain_snapshot = '[]'::jsonb, declared_intent = ''
        where t.session_id = any(${textArray(tx, ids)}) returning t.session_id
      ), gone as (
        delete from queued_batches where session_id = any(${textArray(tx, ids)}) returning *
      ), remembered as (${sourceKeysRemember(tx, ctx, 'cancelled')})
      select count(*)::int as n from dropped`;
    return removed!.n;
  });
}

// ---------------------------------------------------------------------------------------------
// The enqueue rule, used by queue.ts (enqueue) and commits.ts (outbox)

/**
 * SQL boolean for an enqueue's insert: the draft passes the task-session rule. Takes the record
 * FOR SHARE, so a concurrent close either waits for this enqueue (and then cancels its batch) or
 * has committed first (and this reads 'closed'). No record: the store's implicitSessions.
 */
export function draftAdmitted(db: Db, ctx: PgContext, draft: NormalizedDraft): Fragment {
  const rank = draft.sensitivity ? sensitivityRank(draft.sensitivity) : null;
  return db`coalesce((
    select t.status = 'active' and ${ctx.clock.now()} < t.created_at_ms + ${cappedLimit(db)}
      and (${draft.agentId}::text is null or t.agent_id = ${draft.agentId}::text)
      and (${rank}::int is null or ${rank}::int <= ${ceilingRank(db)})
    from task_sessions t where t.session_id = ${draft.sessionId} for share
  ), ${ctx.implicitSessions}::boolean)`;
}

/** Reads what the enqueue rule needs of a session's record; null without one. Rows touched: none. */
export async function policySnapshotRead(db: Db, ctx: PgContext, sessionId: string): Promise<PolicySnapshot | null> {
  const [row] = await db<TaskSessionRow[]>`select ${sessionColumns(db, ctx)} from task_sessions t where t.session_id = ${sessionId}`;
  return row ? { agentId: row.agent_id, status: row.status, expiresAtMs: row.expires_at_ms, dataSensitivityCeiling: row.data_sensitivity_ceiling } : null;
}

/** After an enqueue insert wrote nothing: the typed error when the rule refused the draft, else null. */
export async function draftRefusalRead(db: Db, ctx: PgContext, draft: NormalizedDraft): Promise<Error | null> {
  const refusal = draftRefusal(await policySnapshotRead(db, ctx, draft.sessionId), draft, ctx.implicitSessions);
  return refusal ? refusalError(draft.sessionId, refusal) : null;
}

/**
 * SQL CTE body for a commit: the session's record as read, taken FOR SHARE (so a close waits for
 * the commit or is seen by it). Columns: agent_id, status (as read), expires_at_ms,
 * data_sensitivity_ceiling. No row without a record.
 */
export function commitPolicyRow(tx: Tx, ctx: PgContext, sessionId: string): Fragment {
  return tx`select t.agent_id, ${statusAsRead(tx, ctx)} as status, t.created_at_ms + ${cappedLimit(tx)} as expires_at_ms,
      t.data_sensitivity_ceiling
    from task_sessions t where t.session_id = ${sessionId} for share`;
}
