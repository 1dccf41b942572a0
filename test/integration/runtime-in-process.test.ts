/**
 * The runtime in one process against the in-memory reference store and real Redis (its own
 * BullMQ prefix): fast checks of the drain, the heartbeat and dead-lettering.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import type { RuntimeStore } from '../../src/store/contract.js';
import { createWorker, type TurnWorker } from '../../src/runtime/worker.js';
import { createProducer, type Producer } from '../../src/runtime/producer.js';
import { createBatchQueue, redisConnection, type BatchJobData, type QueueSettings } from '../../src/runtime/bullmq.js';
import type { TurnHandler } from '../../src/runtime/turn.js';
import { createDemoAgent } from '../../workers/demo-agent.js';
import { waitFor } from '../helpers/processes.js';
import { REDIS_URL, queueIsEmpty } from '../helpers/runtime.js';

interface Rig {
  store: RuntimeStore;
  worker: TurnWorker;
  producer: Producer;
  queue: Queue<BatchJobData>;
  redis: Redis;
  running: Promise<void>;
}

let rig: Rig | undefined;

afterEach(async () => {
  if (!rig) return;
  await rig.worker.close();
  await rig.running;
  await rig.queue.obliterate({ force: true });
  await rig.queue.close();
  rig.redis.disconnect();
  rig = undefined;
});

function start(handler: TurnHandler, options: { leaseTtlMs?: number; maxAttempts?: number } = {}): Rig {
  const settings: QueueSettings = { redisUrl: REDIS_URL, queueName: 'turnlane.turns', prefix: `{tl-int-${randomBytes(4).toString('hex')}}`, jobAttempts: 8, backoffMs: 100 };
  const store = createInMemoryStore();
  const worker = createWorker({ store, handler, settings, concurrency: 4, leaseTtlMs: options.leaseTtlMs ?? 3000, maxAttempts: options.maxAttempts ?? 3, reconcileIntervalMs: 0 });
  const redis = redisConnection(REDIS_URL, 'worker');
  const queue = createBatchQueue(settings, redis);
  const producer = createProducer({ store, queue, settings });
  rig = { store, worker, producer, queue, redis, running: worker.run() };
  return rig;
}

describe('runtime in process', () => {
  it('drains sessions in order and commits one revision per turn', async () => {
    const { store, producer } = start(createDemoAgent({ thinkMs: 5 }));
    for (let i = 0; i < 4; i++) for (const s of ['a', 'b']) await producer.enqueueTurnInput({ sessionId: s, text: `${s}${i}` });
    await waitFor(() => queueIsEmpty(store, ['a', 'b']), 10_000, 'drain');
    for (const s of ['a', 'b']) {
      const read = await store.sessions.load(s, { kind: 'full_graph' });
      expect(read?.headRevision).toBe(4);
      expect(read?.graph.nodes.filter((n) => n.payload.kind === 'message' && n.payload.role === 'user').length).toBe(4);
    }
  });

  it('keeps a slow turn alive past the TTL by renewing the lease and every claim', async () => {
    const { store, producer, worker } = start(createDemoAgent({ thinkMs: 700, steps: 2 }), { leaseTtlMs: 450 });
    const refused: string[] = [];
    worker.events.on('commit_refused', (e) => refused.push(e.code));
    await producer.enqueueTurnInput({ sessionId: 'slow', text: 'take your time' });
    await waitFor(() => queueIsEmpty(store, ['slow']), 10_000, 'the slow turn to commit');
    expect(refused).toEqual([]);
    expect((await store.sessions.load('slow', { kind: 'full_graph' }))?.headRevision).toBe(1);
  });

  it('dead-letters a batch whose turn keeps failing and moves on', async () => {
    const failing: TurnHandler = async (turn) => {
      const text = JSON.stringify(turn.inputs.map((i) => i.payload));
      if (text.includes('boom')) throw new Error('boom');
      return { append: [{ payload: { kind: 'message', role: 'assistant', parts: [{ type: 'text', text: 'ok' }] } }] };
    };
    const { store, producer } = start(failing, { maxAttempts: 2 });
    const bad = await producer.enqueueTurnInput({ sessionId: 's', text: 'boom' });
    await producer.enqueueTurnInput({ sessionId: 's', text: 'fine' });
    await waitFor(() => queueIsEmpty(store, ['s']), 15_000, 'drain past the poison input');
    const letters = await store.queue.listDeadLetters('s');
    expect(letters.map((l) => [l.batchId, l.attempts])).toEqual([[bad.batchId, 2]]);
    expect(letters[0]!.reason).toContain('boom');
    expect((await store.sessions.load('s', { kind: 'full_graph' }))?.headRevision).toBe(1);
  });
});
