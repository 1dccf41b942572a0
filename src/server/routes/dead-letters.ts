/** Dead letters, for operators: list (optionally one session's) and requeue at the tail. */
import type { FastifyInstance } from 'fastify';
import { assertSessionId } from '../../store/validate.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../http-errors.js';
import { described } from '../openapi.js';
import { deadLetterCursor, deadLetterSummary, PAGE_DEFAULT, parseDeadLetterCursor } from '../paging.js';
import { batchIdParam, deadLetterQuery, parse } from '../schemas.js';

/** Requeues a dead letter and publishes its job; 404 when there is none. */
export async function requeueDeadLetter(ctx: ServerContext, batchId: string) {
  const batch = await ctx.store.queue.requeueDeadLetter(batchId);
  if (!batch) throw new HttpError(404, 'DEAD_LETTER_NOT_FOUND', `no dead letter ${batchId}`, { batchId });
  // A job of the same id may linger as failed: remove it so the new add is not a no-op.
  await ctx.queue.remove(batchId).catch(() => 0);
  await ctx.producer.publish([batch]);
  return batch;
}

export function registerDeadLetterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const operator = { onRequest: ctx.auth.requireOperator };
  const tags = ['dead letters'];
  app.get('/v1/dead-letters', { ...operator, ...described({ summary: 'Dead letters, optionally of one session', tags, caller: 'operator', querystring: deadLetterQuery }) }, async (request) => {
    const query = parse(deadLetterQuery, request.query, 'query');
    if (query.sessionId !== undefined) assertSessionId(query.sessionId, 'query.sessionId');
    const limit = query.limit ?? PAGE_DEFAULT;
    const after = parseDeadLetterCursor(query.after, 'query.after');
    const letters = await ctx.store.queue.listDeadLetters(query.sessionId, { limit, ...(after ? { after } : {}) });
    const next = letters.length === limit ? deadLetterCursor(letters.at(-1)!) : null;
    return { deadLetters: query.payloads ? letters : letters.map(deadLetterSummary), next };
  });
  app.post('/v1/dead-letters/:batchId/requeue', { ...operator, ...described({ summary: 'Requeue a dead letter at the tail of its session', tags, caller: 'operator', params: batchIdParam }) }, async (request) => {
    const { batchId } = parse(batchIdParam, request.params, 'params');
    return requeueDeadLetter(ctx, batchId);
  });
}
