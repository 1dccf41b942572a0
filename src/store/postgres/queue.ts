/**
 * Queued work in Postgres outside of claims (spec 02 "Queued work"): enqueue with source-key
 * dedupe, cancel, lists, dead letters and the reconciler's scan. Claims live in claims.ts.
 */
import { InvalidInputError, QueueFullError, StoreUnavailableError, describeValue } from '../../errors.js';
import { newBatchId } from '../../ids.js';
import type { DeadLetter, DeadLetterPage, EnqueueOutcome, QueuedBatchRef, QueuedWorkBatch, QueuedWorkBatchDraft, QueuedWorkBatchStatus, QueuePage, TenantScope } from '../contract.js';
import { assertAvailableAt, assertId, assertNonNegativeInteger, assertSessionId, normalizeDraft, parseDeadLetterPage, parseQueuePage, type NormalizedDraft } from '../validate.js';
import { assertSameRequest } from '../idempotency.js';
import { textArray } from './arrays.js';
import { batchFromRow, type BatchRow } from './batch-rows.js';
import type { Db, Fragment, PgContext } from './context.js';
import { runStatement } from './errors.js';
import { leaseEnqueueMark } from './leases.js';
import { draftAdmitted, draftRefusalRead } from './task-sessions.js';
import { tenantClaimStep, tenantOwns, tenantRefusalRead, tenantScopeOf, tenantSees } from './tenants.js';

const MAX_REASON_LENGTH = 4096;
const MAX_SCAN_LIMIT = 10_000;
/** A source-key lookup can race the batch leaving the queue; a few rounds always settle it. */
const MAX_ENQUEUE_ROUNDS = 5;

interface DeadLetterRow {
  batch_id: string;
  session_id: string;
  reason: string;
  attempts: number;
  dead_lettered_at_ms: number;
  batch: BatchRow;
}

function deadLetterFromRow(row: DeadLetterRow): DeadLetter {
  return {
    batchId: row.batch_id,
    sessionId: row.session_id,
    reason: row.reason,
    attempts: row.attempts,
    deadLetteredAtMs: row.dead_lettered_at_ms,
    batch: batchFromRow(row.batch, 'dead_lettered'),
  };
}

/** SQL: a batch row is held (a live claim is on it). Column names unqualified. */
export function batchHeld(ctx: PgContext): Fragment {
  return ctx.sql`(claim_token is not null and claim_expires_at_ms > ${ctx.clock.now()})`;
}

/**
 * SQL statement part: turns the source keys of batches that just left the queue (the CTE named
 * `gone`, rows of queued_batches) into memories with a terminal status and a copy of the batch.
 */
export function sourceKeysRemember(db: Db, ctx: PgContext, status: Exclude<QueuedWorkBatchStatus, 'queued'>): Fragment {
  return db`
    update source_keys k set status = ${status}, finished_at_ms = ${ctx.clock.now()}, batch = to_jsonb(gone)
    from gone
    where k.session_id = gone.session_id and k.source_key = gone.source_key and k.batch_id = gone.batch_id`;
}

/**
 * Inserts one batch (a new batch id and enqueueSeq) and bumps the session's enqueue mark first (the
 * lease row is locked before any other row, the order claims and commits lock in). With a source key, first claims the key in
 * source_keys (new, or taking over an expired memory); a live key returns the stored batch
 * instead and writes nothing. Rows touched: one queued_batches row, one source_keys row.
 * Usable inside a commit's transaction (the outbox), which checked the task-session rule itself;
 * `admit` (queue.enqueue) applies the tenant rule and the task-session rule in the same statement
 * (and makes the draft's tenant the owner of a session nobody owns): when refused, nothing is
 * written and the typed error is thrown.
 */
export async function batchEnqueue(db: Db, ctx: PgContext, draft: NormalizedDraft, admit = false): Promise<EnqueueOutcome> {
  const now = ctx.clock.now();
  const batchId = newBatchId();
  const isCommand = draft.payloads.some((p) => p.type === 'session_command');
  const mergeKey = draft.mergeKey.kind === 'group' ? draft.mergeKey.key : null;
  const columns = db`(batch_id, session_id, delivery_policy, slot_policy, merge_key, is_command, source_key,
    available_at_ms, enqueued_at_ms, payloads)`;
  const values = db`${batchId}, ${draft.sessionId}, ${draft.deliveryPolicy}, ${draft.slotPolicy}, ${mergeKey}, ${isCommand},
    ${draft.sourceKey}, ${draft.availableAtMs}::bigint, ${now}, ${JSON.stringify(draft.payloads)}::text::jsonb`;
  const policyGate = admit ? db`${draftAdmitted(db, ctx, draft)} and ${queueHasRoom(db, ctx, draft.sessionId)}` : db`true`;
  const ownerStep = tenantClaimStep(db, ctx, draft.sessionId, draft.tenantId, policyGate);
  const gate = admit ? db`${policyGate} and ${tenantOwns(db, draft.sessionId, draft.tenantId)}` : policyGate;
  const owner = admit ? db`owner as (${ownerStep}),` : db``;
  // A full queue is read last, and on the source-key path only after the key was looked up: a
  // replay of a stored batch answers at the cap.
  const refusalRead = async () => (await tenantRefusalRead(db, draft.sessionId, draft.tenantId)) ?? (await draftRefusalRead(db, ctx, draft));
  for (let round = 0; round < MAX_ENQUEUE_ROUNDS; round++) {
    if (draft.sourceKey === null) {
      const [row] = await db<BatchRow[]>`
        with ${owner} mark as (${leaseEnqueueMark(db, ctx, draft.sessionId, gate)})
        insert into queued_batches ${columns} select ${values} from mark returning *`;
      if (row) return { batch: batchFromRow(row), replayed: false };
      const refused = (await refusalRead()) ?? (await queueFullRead(db, ctx, draft.sessionId));
      if (refused) throw refused;
      // The record changed between the two reads (removed by cleanup): decide again.
      continue;
    }
    const inserted = await db<BatchRow[]>`
      with ${owner} mark as (${leaseEnqueueMark(db, ctx, draft.sessionId, gate)}), key as (
        insert into source_keys as k (session_id, source_key, batch_id, status, request_hash)
        select ${draft.sessionId}, ${draft.sourceKey}, ${batchId}, 'queued', ${draft.requestHash}::text from mark
        on conflict (session_id, source_key) do update
          set batch_id = excluded.batch_id, status = 'queued', finished_at_ms = null, batch = null, request_hash = excluded.request_hash
          where k.status <> 'queued' and k.finished_at_ms <= ${now} - ${ctx.sourceKeyRetentionMs}::bigint
        returning batch_id
      )
      insert into queued_batches ${columns} select ${values} from key
      returning *`;
    if (inserted[0]) return { batch: batchFromRow(inserted[0]), replayed: false };
    if (admit) {
      const refused = await refusalRead();
      if (refused) throw refused;
    }
    // The key is live: its row was locked by the upsert above and is read again in a fresh snapshot.
    const [known] = await db<
      { status: QueuedWorkBatchStatus; live: boolean; memory: BatchRow | null; queued: BatchRow | null; request_hash: string | null }[]
    >`
      select k.status, k.batch as memory, to_jsonb(q) as queued, k.request_hash,
        (k.status = 'queued' or k.finished_at_ms > ${now} - ${ctx.sourceKeyRetentionMs}::bigint) as live
      from source_keys k left join queued_batches q on q.batch_id = k.batch_id
      where k.session_id = ${draft.sessionId} and k.source_key = ${draft.sourceKey}`;
    if (known?.live) assertSameRequest(draft, known.request_hash);
    if (known?.live && known.status === 'queued' && known.queued) return { batch: batchFromRow(known.queued), replayed: true };
    if (known?.live && known.status !== 'queued' && known.memory) return { batch: batchFromRow(known.memory, known.status), replayed: true };
    // The key is free and the rule admits the draft: only a full queue refuses it.
    if (admit) {
      const full = await queueFullRead(db, ctx, draft.sessionId);
      if (full) throw full;
    }
  }
  throw new StoreUnavailableError(`the source key or task session of ${draft.sessionId} kept changing during enqueue`, { sessionId: draft.sessionId });
}

/**
 * enqueue: validates the draft (InvalidInputError before any write), then `batchEnqueue` under the
 * task-session rule and the session's queue cap (`limits.maxQueuedBatchesPerSession`).
 */
export async function queueEnqueue(ctx: PgContext, draft: QueuedWorkBatchDraft): Promise<EnqueueOutcome> {
  const normalized = normalizeDraft(draft, ctx.limits);
  // A round trip for store time only when the draft is delayed at all (most are not).
  if (normalized.availableAtMs > 0) assertAvailableAt(normalized.availableAtMs, await ctx.clock.nowMs(), ctx.limits);
  return runStatement(() => batchEnqueue(ctx.sql, ctx, normalized, true));
}

/**
 * SQL condition: the session has fewer queued batches than its cap (index (session_id,
 * enqueue_seq)). Read in the insert's statement; two concurrent enqueues under read committed may
 * both see one free slot, so the cap can be passed by the number of enqueues in flight at once.
 */
function queueHasRoom(db: Db, ctx: PgContext, sessionId: string): Fragment {
  return db`(select count(*) from (select 1 from queued_batches where session_id = ${sessionId} limit ${ctx.limits.maxQueuedBatchesPerSession}) q) < ${ctx.limits.maxQueuedBatchesPerSession}`;
}

/** After an enqueue wrote nothing: QueueFullError when the session's queue is at its cap, else null. Rows touched: none. */
async function queueFullRead(db: Db, ctx: PgContext, sessionId: string): Promise<QueueFullError | null> {
  const limit = ctx.limits.maxQueuedBatchesPerSession;
  const [row] = await db<{ queued: number }[]>`
    select count(*)::int as queued from (select 1 from queued_batches where session_id = ${sessionId} limit ${limit}) q`;
  const queued = row?.queued ?? 0;
  return queued >= limit ? new QueueFullError(`session ${sessionId} already has ${queued} queued batches (the limit is ${limit})`, { sessionId, limit, queued }) : null;
}

/**
 * cancel: deletes a queued batch of this session that is not held and remembers its source key.
 * Rows touched: one queued_batches row, its source_keys row. Null when missing, foreign or held.
 */
export async function batchCancel(ctx: PgContext, sessionId: string, batchId: string): Promise<QueuedWorkBatch | null> {
  assertSessionId(sessionId);
  assertId(batchId, 'batchId');
  const sql = ctx.sql;
  const rows = await runStatement(
    () => sql<BatchRow[]>`
      with gone as (
        delete from queued_batches where session_id = ${sessionId} and batch_id = ${batchId} and not ${batchHeld(ctx)}
        returning *
      ), remembered as (${sourceKeysRemember(sql, ctx, 'cancelled')})
      select * from gone`,
  );
  return rows[0] ? batchFromRow(rows[0], 'cancelled') : null;
}

/** get: the batch while it is queued (held or not); null otherwise. Rows touched: none. */
export async function batchGet(ctx: PgContext, batchId: string): Promise<QueuedWorkBatch | null> {
  assertId(batchId, 'batchId');
  const rows = await runStatement(() => ctx.sql<BatchRow[]>`select * from queued_batches where batch_id = ${batchId}`);
  return rows[0] ? batchFromRow(rows[0]) : null;
}

/**
 * list / listPending: the session's queued batches by enqueueSeq (index (session_id, enqueue_seq));
 * pending leaves out held ones. Rows touched: none; empty when nothing is queued.
 */
export async function batchList(ctx: PgContext, sessionId: string, pendingOnly: boolean, page?: QueuePage): Promise<QueuedWorkBatch[]> {
  assertSessionId(sessionId);
  const { afterEnqueueSeq, limit } = parseQueuePage(page);
  const sql = ctx.sql;
  const pending = pendingOnly ? sql`and not ${batchHeld(ctx)}` : sql``;
  // `limit null` is Postgres' "no limit".
  const rows = await runStatement(
    () => sql<BatchRow[]>`select * from queued_batches where session_id = ${sessionId} and enqueue_seq > ${afterEnqueueSeq}::bigint ${pending}
      order by enqueue_seq limit ${limit}`,
  );
  return rows.map((row) => batchFromRow(row));
}

/**
 * scan: queued batches of every session after `afterEnqueueSeq`, by enqueueSeq (unique index on
 * enqueue_seq), at most `limit`. Rows touched: none.
 */
export async function batchScan(ctx: PgContext, req: { afterEnqueueSeq: number; limit: number }): Promise<QueuedBatchRef[]> {
  assertNonNegativeInteger(req?.afterEnqueueSeq, 'afterEnqueueSeq');
  if (!Number.isSafeInteger(req.limit) || req.limit < 1 || req.limit > MAX_SCAN_LIMIT) {
    throw InvalidInputError.field('limit', `an integer from 1 to ${MAX_SCAN_LIMIT}`, describeValue(req.limit));
  }
  const rows = await runStatement(
    () => ctx.sql<{ batch_id: string; session_id: string; enqueue_seq: number; available_at_ms: number; held: boolean }[]>`
      select batch_id, session_id, enqueue_seq, available_at_ms, ${batchHeld(ctx)} as held
      from queued_batches where enqueue_seq > ${req.afterEnqueueSeq}::bigint
      order by enqueue_seq limit ${req.limit}`,
  );
  return rows.map((r) => ({ batchId: r.batch_id, sessionId: r.session_id, enqueueSeq: r.enqueue_seq, availableAtMs: r.available_at_ms, held: r.held }));
}

export function assertReason(reason: unknown, field = 'reason'): asserts reason is string {
  if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH) {
    throw InvalidInputError.field(field, `a string of at most ${MAX_REASON_LENGTH} characters`, describeValue(reason));
  }
}

/**
 * Moves unheld queued batches of one session into dead_letters with `reason`, remembering their
 * source keys. Rows touched: those queued_batches rows (deleted), dead_letters and source_keys
 * rows. Returns the dead letters made; empty when none qualified.
 */
export async function batchesDeadLetter(db: Db, ctx: PgContext, sessionId: string, batchIds: string[], reason: string): Promise<DeadLetter[]> {
  const rows = await db<DeadLetterRow[]>`
    with gone as (
      delete from queued_batches
      where session_id = ${sessionId} and batch_id = any(${textArray(db, batchIds)}) and not ${batchHeld(ctx)}
      returning *
    ), letter as (
      insert into dead_letters (batch_id, session_id, reason, attempts, dead_lettered_at_ms, enqueue_seq, batch)
      select batch_id, session_id, ${reason}, attempts, ${ctx.clock.now()}, enqueue_seq, to_jsonb(gone) from gone
      returning *
    ), remembered as (${sourceKeysRemember(db, ctx, 'dead_lettered')})
    select * from letter order by enqueue_seq`;
  return rows.map(deadLetterFromRow);
}

/**
 * CTE steps `gone`, `letter`, `remembered` for a claim statement whose `fence` step holds the
 * live, locked lease row: dead-letters the session's unheld batches whose attempts reached
 * `maxAttempts`, each with its last error. Rows touched: those queued_batches rows (deleted),
 * dead_letters and source_keys rows. The claim skips those rows itself (same snapshot).
 */
export function exhaustedDeadLetterSteps(db: Db, ctx: PgContext, sessionId: string, maxAttempts: number): Fragment {
  return db`gone as (
      delete from queued_batches
      where session_id = ${sessionId} and attempts >= ${maxAttempts} and not ${batchHeld(ctx)}
        and exists (select 1 from fence)
      returning *
    ), letter as (
      insert into dead_letters (batch_id, session_id, reason, attempts, dead_lettered_at_ms, enqueue_seq, batch)
      select batch_id, session_id, coalesce(last_error, 'failed ' || attempts || ' attempts'), attempts, ${ctx.clock.now()},
        enqueue_seq, to_jsonb(gone)
      from gone
      returning batch_id
    ), remembered as (${sourceKeysRemember(db, ctx, 'dead_lettered')})`;
}

/** deadLetter: one queued, unheld batch of this session; null when missing, foreign or held. */
export async function queueDeadLetter(ctx: PgContext, sessionId: string, batchId: string, reason: string): Promise<DeadLetter | null> {
  assertSessionId(sessionId);
  assertId(batchId, 'batchId');
  assertReason(reason);
  const letters = await runStatement(() => batchesDeadLetter(ctx.sql, ctx, sessionId, [batchId], reason));
  return letters[0] ?? null;
}

/**
 * listDeadLetters: by deadLetteredAtMs then enqueueSeq, of one session or all; with page fields,
 * those after the cursor, at most the limit; with `tenantId`, of that tenant's sessions only.
 * Rows touched: none.
 */
export async function deadLetterList(ctx: PgContext, sessionId?: string, options?: DeadLetterPage & TenantScope): Promise<DeadLetter[]> {
  if (sessionId !== undefined) assertSessionId(sessionId);
  const { after, limit } = parseDeadLetterPage(options);
  const sql = ctx.sql;
  const sees = tenantSees(sql, tenantScopeOf(options), sql`d.session_id`);
  const ofSession = sessionId === undefined ? sql`true` : sql`session_id = ${sessionId}`;
  const afterCursor = after === null ? sql`true` : sql`(dead_lettered_at_ms, enqueue_seq) > (${after.deadLetteredAtMs}::bigint, ${after.enqueueSeq}::bigint)`;
  const rows = await runStatement(
    () => sql<DeadLetterRow[]>`select * from dead_letters d where ${ofSession} and ${afterCursor} and ${sees} order by dead_lettered_at_ms, enqueue_seq limit ${limit}`,
  );
  return rows.map(deadLetterFromRow);
}

/**
 * requeueDeadLetter: the batch goes back to the tail (same id, items, policies, source key; new
 * enqueueSeq; attempts 0; claim counter kept) and its source key maps to it again. Rows touched:
 * the dead letter (deleted), one queued_batches row, the source_keys row. Null when absent.
 */
export async function deadLetterRequeue(ctx: PgContext, batchId: string, scope?: TenantScope): Promise<QueuedWorkBatch | null> {
  assertId(batchId, 'batchId');
  const sees = tenantSees(ctx.sql, tenantScopeOf(scope), ctx.sql`d.session_id`);
  const rows = await runStatement(
    () => ctx.sql<BatchRow[]>`
      with letter as (
        delete from dead_letters d where batch_id = ${batchId} and ${sees} returning batch
      ), mark as (
        insert into session_leases as l (session_id, owner_id, incarnation_id, lease_token, fencing_token, claimed_at_ms,
          expires_at_ms, enqueue_mark)
        select r.session_id, '', '', null, 0, ${ctx.clock.now()}, ${ctx.clock.now()}, 1
        from letter, jsonb_populate_record(null::queued_batches, letter.batch) r
        on conflict (session_id) do update set enqueue_mark = l.enqueue_mark + 1
      ), back as (
        insert into queued_batches (batch_id, session_id, delivery_policy, slot_policy, merge_key, is_command, source_key,
          available_at_ms, enqueued_at_ms, payloads, claim_count, attempts, last_error)
        select r.batch_id, r.session_id, r.delivery_policy, r.slot_policy, r.merge_key, r.is_command, r.source_key,
          r.available_at_ms, r.enqueued_at_ms, r.payloads, r.claim_count, 0, r.last_error
        from letter, jsonb_populate_record(null::queued_batches, letter.batch) r
        returning *
      ), rekeyed as (
        update source_keys k set status = 'queued', finished_at_ms = null, batch = null
        from back where k.session_id = back.session_id and k.source_key = back.source_key and k.batch_id = back.batch_id
      )
      select * from back`,
  );
  return rows[0] ? batchFromRow(rows[0]) : null;
}
