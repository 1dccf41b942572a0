/**
 * Dead letters: list (optionally one session's) and requeue at the tail. Operators see every
 * tenant's; a producer key its own tenant's (requeue is a destructive command: the owning tenant
 * or an operator), and a key bound to agent ids none (tenant-wide lists, 403).
 */
import type { FastifyInstance } from 'fastify';
import { assertSessionId } from '../../store/validate.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { described } from '../openapi.js';
import { deadLetterCursor, deadLetterSummary, PAGE_DEFAULT, parseDeadLetterCursor } from '../paging.js';
import { batchIdParam, deadLetterQuery, parse } from '../schemas.js';
import { assertTenantWide, callerTenant } from '../tenancy.js';

/** Requeues a dead letter (of `tenantId`'s sessions only, when given) and publishes its job; 404 when there is none. */
export async function requeueDeadLetter(ctx: ServerContext, batchId: string, tenantId: string | null = null) {
  const batch = await ctx.store.queue.requeueDeadLetter(batchId, tenantId === null ? undefined : { tenantId });
  if (!batch) throw new HttpError(404, 'DEAD_LETTER_NOT_FOUND', `no dead letter ${batchId}`, { batchId });
  // A job of the same id may linger as failed: remove it so the new add is not a no-op.
  await ctx.queue.remove(batchId).catch(() => 0);
  await ctx.producer.publish([batch]);
  return batch;
}

export function registerDeadLetterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const producer = { onRequest: ctx.auth.requireProducer };
  const tags = ['dead letters'];
  app.get('/v1/dead-letters', { ...producer, ...described({ summary: "Dead letters (a producer key: its tenant's), optionally of one session, one page", tags, caller: 'producer', querystring: deadLetterQuery }) }, async (request) => {
    const query = parse(deadLetterQuery, request.query, 'query');
    if (query.sessionId !== undefined) assertSessionId(query.sessionId, 'query.sessionId');
    assertTenantWide(request);
    const tenantId = callerTenant(request);
    const limit = query.limit ?? PAGE_DEFAULT;
    const after = parseDeadLetterCursor(query.after, 'query.after');
    const letters = await ctx.store.queue.listDeadLetters(query.sessionId, { limit, ...(after ? { after } : {}), ...(tenantId === null ? {} : { tenantId }) });
    const next = letters.length === limit ? deadLetterCursor(letters.at(-1)!) : null;
    return { deadLetters: query.payloads ? letters : letters.map(deadLetterSummary), next };
  });
  app.post('/v1/dead-letters/:batchId/requeue', { ...producer, ...described({ summary: 'Requeue a dead letter at the tail of its session', tags, caller: 'producer', params: batchIdParam }) }, async (request) => {
    const { batchId } = parse(batchIdParam, request.params, 'params');
    assertTenantWide(request);
    return requeueDeadLetter(ctx, batchId, callerTenant(request));
  });
}
