/**
 * Issue 13 item 3: the safe choice is the default. A worker enforces its store's task sessions
 * without being told to (`turn.tools.use` goes through `toolPolicy(store)`), with the worker's
 * agent id and the sensitivity the turn declares; and a durable store paired with attachments
 * kept in memory is refused when the worker is created, unless that is explicitly allowed.
 * Real Redis (its own BullMQ prefix), the in-memory reference store for the policy part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { DurabilityMismatchError } from '../../src/errors.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createPostgresAttachmentStore } from '../../src/store/postgres/attachments-content.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createWorker, type TurnWorker, type WorkerOptions } from '../../src/runtime/worker.js';
import { createProducer } from '../../src/runtime/producer.js';
import { createBatchQueue, redisConnection, type QueueSettings } from '../../src/runtime/bullmq.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/runtime.js';
import { databaseUrl } from '../helpers/postgres.js';

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function settings(): QueueSettings {
  return { redisUrl: REDIS_URL, queueName: 'turnlane.turns', prefix: `{tl-pol-${randomBytes(4).toString('hex')}}`, jobAttempts: 8, backoffMs: 100 };
}

/** Starts a worker with the defaults plus `extra`; returns a producer on the same queue. */
function start(store: RuntimeStore, handler: TurnHandler, extra: Partial<WorkerOptions> = {}) {
  const s = settings();
  const worker: TurnWorker = createWorker({ store, handler, settings: s, concurrency: 2, reconcileIntervalMs: 0, rescueIntervalMs: 0, ...extra });
  const running = worker.run();
  const redis = redisConnection(REDIS_URL, 'producer');
  const queue = createBatchQueue(s, redis);
  cleanups.push(async () => {
    await worker.close();
    await running;
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });
  return createProducer({ store, queue, settings: s });
}

async function deadLetterOf(store: RuntimeStore, sessionId: string): Promise<string> {
  await waitFor(async () => (await store.queue.listDeadLetters(sessionId)).length > 0, 30_000, `a dead letter of ${sessionId}`);
  return (await store.queue.listDeadLetters(sessionId))[0]!.reason;
}

describe('a worker created with the defaults', () => {
  it('enforces the task session: whitelist, declared sensitivity and its agent id', async () => {
    const store = createInMemoryStore();
    const request = { agentId: 'support-bot', authorizedTools: ['search'], callBudget: 10, timeLimitMs: 3_600_000, dataSensitivityCeiling: 'internal' as const };
    const whitelist = await store.sessions.create(request);
    const ceiling = await store.sessions.create(request);
    const producer = start(store, async (turn) => {
      const text = JSON.stringify(turn.inputs[0]?.payload);
      if (text.includes('forbidden')) await turn.tools.use(['delete_everything']);
      if (text.includes('secret')) await turn.tools.use(['search'], { sensitivity: 'restricted' });
      return { append: [] };
    });
    await producer.enqueueTurnInput({ sessionId: whitelist.sessionId, text: 'forbidden' });
    await producer.enqueueTurnInput({ sessionId: ceiling.sessionId, text: 'secret' });
    expect(await deadLetterOf(store, whitelist.sessionId)).toMatch(/^ToolNotAuthorizedError: /);
    expect(await deadLetterOf(store, ceiling.sessionId)).toMatch(/^SensitivityExceededError: /);
    expect((await store.sessions.get(whitelist.sessionId))?.callsMade).toBe(0);
  });

  it('states its agent id with every tool call', async () => {
    const store = createInMemoryStore();
    const session = await store.sessions.create({ agentId: 'support-bot', authorizedTools: ['search'], callBudget: 10, timeLimitMs: 3_600_000 });
    const producer = start(
      store,
      async (turn) => {
        await turn.tools.use(['search']);
        return { append: [] };
      },
      { agentId: 'billing-bot' },
    );
    await producer.enqueueTurnInput({ sessionId: session.sessionId, text: 'hello' });
    expect(await deadLetterOf(store, session.sessionId)).toMatch(/^AgentMismatchError: /);
  });

  it('refuses a durable store with attachments kept in memory, unless allowed', async () => {
    // Nothing connects before the refusal: the database need not exist.
    const url = databaseUrl(`turnlane_never_${randomBytes(4).toString('hex')}`);
    const store = createPostgresStore({ databaseUrl: url });
    const attachments = createPostgresAttachmentStore({ databaseUrl: url });
    cleanups.push(() => store.close(), () => attachments.close());
    const handler: TurnHandler = async () => ({ append: [] });
    expect(() => createWorker({ store, handler, settings: settings() })).toThrow(DurabilityMismatchError);
    for (const extra of [{ attachments }, { allowInlineAttachments: true }]) {
      const worker = createWorker({ store, handler, settings: settings(), ...extra });
      await worker.close();
    }
  });
});
