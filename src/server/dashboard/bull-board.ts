/**
 * Bull Board at /admin/queues: BullMQ's own view of the batch queue (job data is ids only).
 * Registered inside the dashboard's operator-only scope, so its pages and its JSON API answer
 * 401 without credentials. `readOnlyMode` hides retry, promote, clean and remove.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export const BULL_BOARD_PATH = '/admin/queues';

export async function registerBullBoard(scope: FastifyInstance, ctx: ServerContext): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(ctx.queue, { readOnlyMode: ctx.bullBoardReadOnly, description: 'one job per queued batch; Postgres decides' })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'turnlane', hideRedisDetails: false } },
  });
  await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
