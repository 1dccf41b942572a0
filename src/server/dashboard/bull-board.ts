/**
 * Bull Board at /admin/queues: BullMQ's own view of the batch queue (job data is ids only).
 * Registered inside the dashboard's operator-only scope, so its pages and its JSON API answer
 * 401 without credentials. `readOnlyMode` hides retry, promote, clean and remove. The bodies its
 * handlers read are checked first, and its errors keep the shape its UI shows.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { ControllerHandlerReturnType } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import { createIORedisClient, ErrorCode, type IRedisClient, type Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { toHttpError } from '../http-errors.js';
import { parse } from '../schemas.js';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board 7 reads the queue's Redis client from `queue.client`, which BullMQ 6 no longer has:
 * its Redis panel (`api/redis/stats`) answered 500 on every call and a job's flow view
 * (`api/queues/:queue/:job/flow`) 500 for every existing job (found by test/fuzz/http.fuzz.test.ts).
 * This adapter hands it the server's own Redis connection instead.
 */
class QueueAdapter extends BullMQAdapter {
  /** One wrapper, so Bull Board's FlowProducer cache (keyed by client) holds one producer. */
  private readonly client: IRedisClient;

  constructor(
    queue: Queue,
    private readonly redis: Redis,
    options: ConstructorParameters<typeof BullMQAdapter>[1],
  ) {
    super(queue, options);
    this.client = createIORedisClient(redis);
  }

  override async getRedisInfo(): Promise<string> {
    return this.redis.info();
  }

  override getClient(): Promise<IRedisClient> {
    return Promise.resolve(this.client);
  }
}

const API = `${BULL_BOARD_PATH}/api/queues/:queueName`;

/**
 * The bodies Bull Board's handlers destructure without a check: `null` or a number made them throw
 * (500), and job options BullMQ refuses did too (found by test/fuzz/http.fuzz.test.ts). Job
 * options: the ones an operator needs to add a job by hand, typed; no custom job id (batch jobs
 * are keyed by batch id, and BullMQ refuses integer-like ids).
 */
const BODIES: Record<string, z.ZodType> = {
  [`POST ${API}/add`]: z
    .object({
      name: z.string().min(1).max(256),
      data: z.json().optional(),
      options: z
        .object({
          delay: z.number().int().min(0).optional(),
          priority: z.number().int().min(0).max(2_097_151).optional(),
          attempts: z.number().int().min(1).max(1000).optional(),
          lifo: z.boolean().optional(),
          removeOnComplete: z.union([z.boolean(), z.number().int().min(0)]).optional(),
          removeOnFail: z.union([z.boolean(), z.number().int().min(0)]).optional(),
        })
        .strict()
        .optional(),
    }),
  [`PUT ${API}/concurrency`]: z.object({ concurrency: z.number().int().min(0).max(1_000_000) }),
  [`PATCH ${API}/:jobId/update-data`]: z.object({ jobData: z.json() }),
};

/** BullMQ's refusals of a job action in the job's current state (promote a job that is not delayed…). */
const JOB_STATE_REFUSALS = new Set<number>([ErrorCode.JobNotExist, ErrorCode.JobLockNotExist, ErrorCode.JobNotInState, ErrorCode.JobPendingChildren, ErrorCode.JobLockMismatch, ErrorCode.JobBelongsToJobScheduler]);

/**
 * Errors of Bull Board's API in the shape its UI shows (`{ error: message }`, plus our `code`).
 * Its own handler answered 500 for every throw, with the raw message: promoting a job that was
 * not delayed was a 500 (found by test/fuzz/http.fuzz.test.ts), and a 413 body said "Internal
 * server error". Now: BullMQ's job-state refusals 409, Fastify's 4xx as mapped everywhere else,
 * anything else a logged, opaque 500.
 */
function bullBoardError(ctx: ServerContext): (err: Error) => ControllerHandlerReturnType {
  // Bull Board's type lists the statuses its own handlers use (no 409, 413, 415); Fastify sends any.
  const answer = (status: number, body: Record<string, string>) => ({ status: status as ControllerHandlerReturnType['status'], body });
  return (err) => {
    const bullmqCode = (err as { code?: unknown }).code;
    if (typeof bullmqCode === 'number' && JOB_STATE_REFUSALS.has(bullmqCode)) return answer(409, { error: err.message, code: 'JOB_STATE_CONFLICT' });
    const { status, body } = toHttpError(err);
    if (status >= 500) ctx.log.error({ err }, 'Bull Board request failed');
    return answer(status, { error: body.error.message, code: body.error.code });
  };
}

export async function registerBullBoard(scope: FastifyInstance, ctx: ServerContext): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new QueueAdapter(ctx.queue, ctx.redis, { readOnlyMode: ctx.bullBoardReadOnly, description: 'one job per queued batch; Postgres decides' })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'turnlane', hideRedisDetails: false } },
  });
  // After createBullBoard, which installs Bull Board's own handler; the plugin reads it at registration.
  serverAdapter.setErrorHandler(bullBoardError(ctx));
  await scope.register(async (board) => {
    board.addHook('preValidation', async (request) => {
      const schema = BODIES[`${request.method} ${request.routeOptions.url ?? ''}`];
      if (schema) parse(schema, request.body, 'body');
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
}
