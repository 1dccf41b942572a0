/**
 * Task sessions and their queues: create, read, close; enqueue input and commands; list and
 * cancel queued batches. Producer credentials (or an operator's). A producer key works on its own
 * tenant's sessions only; any other answers as a missing session (tenancy.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { commitFeedPublish } from '../../runtime/commit-feed.js';
import type { QueuedWorkBatchDraft, QueuedWorkPayload, QueuePage, RuntimeStore } from '../../store/contract.js';
import { sessionCommandDraft } from '../../store/drafts.js';
import { requestHashOf } from '../../store/hash.js';
import { assertSessionId } from '../../store/validate.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { SessionNotFoundError } from '../../errors.js';
import { described } from '../openapi.js';
import { batchSummary, PAGE_DEFAULT } from '../paging.js';
import { actingTenant, assertAgentAllowed, assertMayEnqueue, assertSessionVisible } from '../tenancy.js';
import { batchParams, closeBody, commandBody, createSessionBody, idempotencyHeaders, idempotencyKey, inputBody, listQuery, parse, queueQuery, sessionIdParam } from '../schemas.js';

function sessionParam(request: FastifyRequest): string {
  const { id } = parse(sessionIdParam, request.params, 'params');
  assertSessionId(id, 'params.id');
  return id;
}

/**
 * Set to `true` on a 202 that accepted nothing new: the Idempotency-Key already named this very
 * request (the name Stripe uses). The same key with another body is 422 IDEMPOTENCY_KEY_REUSED.
 */
const REPLAYED_HEADER = 'idempotent-replayed';

function sourceKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  return parse(idempotencyKey, Array.isArray(header) ? header[0] : header, 'headers.idempotency-key');
}

/** The session as `GET /v1/sessions/:id` shows it: policy, status, budget, head, lease (no token), queue. */
export async function sessionView(store: RuntimeStore, sessionId: string) {
  const [policy, overview] = await Promise.all([store.sessions.get(sessionId), store.operator.getSession(sessionId)]);
  if (!policy && !overview) return null;
  return {
    sessionId,
    status: policy?.status ?? overview?.status ?? 'implicit',
    policy,
    headRevision: overview?.headRevision ?? 0,
    lastCommitAtMs: overview?.lastCommitAtMs ?? null,
    lease: overview?.lease ?? null,
    queueDepth: overview?.queueDepth ?? 0,
    heldCount: overview?.heldCount ?? 0,
    deadLetterCount: overview?.deadLetterCount ?? 0,
    callsMade: policy?.callsMade ?? null,
    callBudget: policy?.callBudget ?? null,
  };
}

/**
 * One page of a session's queue, each batch with `held`: a live claim is on it. The pending page
 * with the same cursor and limit holds every unheld batch of the full page's range (pending
 * batches are a subset, so the range has at most `limit` of them).
 */
export async function queueView(store: RuntimeStore, sessionId: string, page: QueuePage = { limit: PAGE_DEFAULT }) {
  const [all, pending] = await Promise.all([store.queue.list(sessionId, page), store.queue.listPending(sessionId, page)]);
  const free = new Set(pending.map((b) => b.batchId));
  return all.map((batch) => ({ ...batch, held: !free.has(batch.batchId) }));
}

/** Cancels an unclaimed batch; 404 when it is not in the session's queue, 409 when a live claim holds it. */
export async function cancelBatch(ctx: ServerContext, sessionId: string, batchId: string) {
  const cancelled = await ctx.producer.cancel(sessionId, batchId);
  if (cancelled) return cancelled;
  const batch = await ctx.store.queue.get(batchId);
  if (batch && batch.sessionId === sessionId) throw new HttpError(409, 'BATCH_HELD', `batch ${batchId} is held by a running turn`, { sessionId, batchId });
  throw batchNotFound(sessionId, batchId);
}

function batchNotFound(sessionId: string, batchId: string): HttpError {
  return new HttpError(404, 'BATCH_NOT_FOUND', `no queued batch ${batchId} in session ${sessionId}`, { sessionId, batchId });
}

/** Closes a task session (cancelling its unclaimed batches) and ends its event streams everywhere. */
export async function closeSession(ctx: ServerContext, sessionId: string, agentId?: string) {
  const session = await ctx.store.sessions.close(sessionId, agentId === undefined ? {} : { agentId });
  ctx.commits.notify({ type: 'session_closed', sessionId });
  await commitFeedPublish(ctx.redis, ctx.settings.prefix, { type: 'session_closed', sessionId });
  return session;
}

export function registerSessionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { store } = ctx;
  const producer = { onRequest: ctx.auth.requireProducer };

  const tags = ['sessions'];
  app.post('/v1/sessions', { ...producer, ...described({ summary: 'Create a task session with its limits', tags, caller: 'producer', body: createSessionBody }) }, async (request, reply) => {
    const body = parse(createSessionBody, request.body, 'body');
    assertAgentAllowed(request, body.agentId);
    // Operators create for the default tenant (actingTenant without a session).
    const create = { ...body, tenantId: await actingTenant(ctx, request) };
    const session = ctx.maxActivePerAgent > 0 ? await store.sessions.createIfUnderCap(create, ctx.maxActivePerAgent) : await store.sessions.create(create);
    return reply.status(201).send(session);
  });

  app.get('/v1/sessions', { onRequest: ctx.auth.requireOperator, ...described({ summary: 'List sessions (operator)', tags, caller: 'operator', querystring: listQuery }) }, async (request) => {
    const query = parse(listQuery, request.query, 'query');
    const sessions = await store.operator.listSessions({
      ...(query.after !== undefined ? { afterSessionId: query.after } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.agentId !== undefined ? { agentId: query.agentId } : {}),
    });
    return { sessions, next: sessions.length > 0 && sessions.length === (query.limit ?? 100) ? sessions.at(-1)!.sessionId : null };
  });

  app.get('/v1/sessions/:id', { ...producer, ...described({ summary: 'A session: policy, status, budget, head revision, lease holder, queue depth', tags, caller: 'producer', params: sessionIdParam }) }, async (request) => {
    const id = sessionParam(request);
    await assertSessionVisible(ctx, request, id);
    const view = await sessionView(store, id);
    if (!view) throw new HttpError(404, 'SESSION_NOT_FOUND', `no session ${id}`, { sessionId: id });
    return view;
  });

  app.post('/v1/sessions/:id/close', { ...producer, ...described({ summary: 'Close a task session; its unclaimed batches are cancelled', tags, caller: 'producer', params: sessionIdParam, body: closeBody }) }, async (request) => {
    const id = sessionParam(request);
    const body = parse(closeBody, request.body, 'body');
    // As the store answers a close of a missing session.
    await assertSessionVisible(ctx, request, id, () => new SessionNotFoundError(`no task session ${id}`, { sessionId: id }));
    return closeSession(ctx, id, body.agentId);
  });

  app.post('/v1/sessions/:id/inputs', { ...producer, ...described({ summary: 'Enqueue turn input (202 the batch)', tags, caller: 'producer', params: sessionIdParam, headers: idempotencyHeaders, body: inputBody }) }, async (request, reply) => {
    const id = sessionParam(request);
    const body = parse(inputBody, request.body, 'body');
    const sourceKey = sourceKeyOf(request);
    await assertMayEnqueue(ctx, request, id);
    const items = body.items ?? [{ type: 'text' as const, text: body.text! }];
    const payloads: QueuedWorkPayload[] = [{ type: 'turn_input', input: { items } }];
    const draft: QueuedWorkBatchDraft = {
      sessionId: id,
      deliveryPolicy: body.deliveryPolicy ?? 'after_current_turn_commit',
      slotPolicy: body.slotPolicy ?? 'exclusive',
      payloads,
      ...(body.mergeKey ? { mergeKey: body.mergeKey } : {}),
      ...(sourceKey !== undefined ? { sourceKey, requestHash: requestHashOf({ route: 'inputs', body }) } : {}),
      ...(body.availableAtMs !== undefined ? { availableAtMs: body.availableAtMs } : {}),
      ...(body.delayMs !== undefined ? { availableAtMs: (await store.clock.nowMs()) + body.delayMs } : {}),
      ...(body.agentId !== undefined ? { agentId: body.agentId } : {}),
      ...(body.sensitivity !== undefined ? { sensitivity: body.sensitivity } : {}),
      tenantId: await actingTenant(ctx, request, id),
    };
    const { batch, replayed } = await ctx.producer.enqueueWithOutcome(draft);
    ctx.metrics.enqueued.inc();
    request.log.info({ sessionId: id, batchId: batch.batchId, status: batch.status, replayed }, 'input accepted');
    if (replayed) reply.header(REPLAYED_HEADER, 'true');
    return reply.status(202).send(batch);
  });

  app.post('/v1/sessions/:id/commands', { ...producer, ...described({ summary: 'Enqueue a session command (202 the batch)', tags, caller: 'producer', params: sessionIdParam, headers: idempotencyHeaders, body: commandBody }) }, async (request, reply) => {
    const id = sessionParam(request);
    const body = parse(commandBody, request.body, 'body');
    const clientKey = sourceKeyOf(request);
    await assertMayEnqueue(ctx, request, id);
    const draft = { ...sessionCommandDraft(id, { kind: body.kind, reason: body.reason }, clientKey ?? randomBytes(12).toString('hex')), tenantId: await actingTenant(ctx, request, id) };
    if (clientKey !== undefined) draft.requestHash = requestHashOf({ route: 'commands', body });
    const { batch, replayed } = await ctx.producer.enqueueWithOutcome(draft);
    ctx.metrics.enqueued.inc();
    request.log.info({ sessionId: id, batchId: batch.batchId, command: body.kind, replayed }, 'command accepted');
    if (replayed) reply.header(REPLAYED_HEADER, 'true');
    return reply.status(202).send(batch);
  });

  app.get('/v1/sessions/:id/queue', { ...producer, ...described({ summary: "A session's queued batches, each with held (one page)", tags, caller: 'producer', params: sessionIdParam, querystring: queueQuery }) }, async (request) => {
    const id = sessionParam(request);
    const query = parse(queueQuery, request.query, 'query');
    await assertSessionVisible(ctx, request, id);
    const limit = query.limit ?? PAGE_DEFAULT;
    const batches = await queueView(store, id, { afterEnqueueSeq: query.after ?? 0, limit });
    const next = batches.length === limit ? String(batches.at(-1)!.enqueueSeq) : null;
    return { sessionId: id, batches: query.payloads ? batches : batches.map((b) => ({ ...batchSummary(b), held: b.held })), next };
  });

  app.delete('/v1/sessions/:id/batches/:batchId', { ...producer, ...described({ summary: 'Cancel a batch no running turn holds', tags, caller: 'producer', params: batchParams }) }, async (request) => {
    const { batchId } = parse(batchParams, request.params, 'params');
    const id = sessionParam(request);
    // As cancelBatch answers a batch that is not in the session's queue.
    await assertSessionVisible(ctx, request, id, () => batchNotFound(id, batchId));
    return cancelBatch(ctx, id, batchId);
  });
}
