/**
 * P4s, single-input capacity: P4's sessions, workers and handler, but each session gets its next
 * input only after its previous turn committed, as a chat user sends the next message after the
 * answer (the shape P6 offers). The first input of every session is bulk-loaded and published;
 * each later one is enqueued through the real producer (Postgres insert, then the BullMQ job) when
 * the worker reports the commit over IPC. The clock runs from the first publish to the last
 * committed turn. P6's loads are shares of this rate: the capacity of the shape it measures.
 */
import { benchBatchesSeed } from '../../src/store/postgres/bench-seed.js';
import { perSecond, runQueue, waitFor, type BenchContext, type Metrics, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

async function singleInputOnce(ctx: BenchContext): Promise<Metrics> {
  const { workers, concurrency, sessions, perSession } = ctx.sizes;
  const tag = ctx.tag('p4s');
  const total = sessions * perSession;
  await benchBatchesSeed(ctx.sql, { prefix: tag, sessions, perSession: 1, slotPolicy: 'exclusive', mergeKey: null });
  const rq = runQueue(ctx, tag);
  const sent = new Map<string, number>();
  let turns = 0;
  let inputs = 0;
  let failed = 0;
  const group = startTurnlaneWorkers(
    workers,
    { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag, concurrency, extra: { LEASE_TTL_MS: String(ctx.sizes.leaseTtlMs) } },
    (msg) => {
      turns++;
      inputs += msg.batches;
      const n = sent.get(msg.sessionId) ?? 1;
      if (n >= perSession) return;
      sent.set(msg.sessionId, n + 1);
      rq.producer.enqueueTurnInput({ sessionId: msg.sessionId, text: `input ${n}` }).catch(() => failed++);
    },
  );
  try {
    await group.ready;
    const started = performance.now();
    await rq.publishSeeded(tag, sessions, 1);
    await waitFor('P4s inputs committed', () => inputs + failed, total, 600_000);
    if (failed > 0) throw new Error(`P4s: ${failed} enqueues failed`);
    const ms = performance.now() - started;
    return { turnsPerSec: perSecond(turns, ms), inputsPerTurn: inputs / turns, peakRssMb: Math.max(...group.peakRssMb()) };
  } finally {
    await group.stop();
    await rq.close();
  }
}

export const p4sSingle: Scenario = {
  id: 'P4s',
  title: 'Single-input capacity: next input after the previous commit',
  metrics: [
    { key: 'turnsPerSec', label: 'committed turns/s', unit: '/s', better: 'higher' },
    { key: 'inputsPerTurn', label: 'inputs per turn', unit: '', better: 'lower' },
    { key: 'peakRssMb', label: 'worker peak RSS', unit: 'MB', better: 'lower' },
  ],
  runOnce: singleInputOnce,
};
