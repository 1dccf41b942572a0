/**
 * P2, the delivery ceiling: plain BullMQ jobs whose processor does nothing, with P4's worker
 * processes and concurrency and turnlane's job options (attempts, backoff, removeOnComplete).
 * Jobs/s is the most BullMQ can deliver here; turnlane adds Postgres work to every job.
 */
import { Worker } from 'bullmq';
import { JOB_NAME, batchJobOptions, createBatchQueue, redisConnection, resolveQueueSettings } from '../../src/runtime/bullmq.js';
import type { ChildContext } from '../child.js';
import { perSecond, waitFor, type BenchContext, type Scenario } from '../harness.js';
import { startChildren } from '../processes.js';

export const p2BullmqNoop: Scenario = {
  id: 'P2',
  title: 'Delivery ceiling: BullMQ no-op jobs',
  metrics: [{ key: 'jobsPerSec', label: 'jobs/s', unit: '/s', better: 'higher' }],
  async runOnce(ctx: BenchContext) {
    const { workers, concurrency, noopJobs } = ctx.sizes;
    const queueName = ctx.tag('p2');
    const settings = resolveQueueSettings({ redisUrl: ctx.redisUrl, queueName, prefix: ctx.prefix });
    const connection = redisConnection(ctx.redisUrl, 'worker');
    const queue = createBatchQueue(settings, connection);
    let done = 0;
    const group = startChildren(
      workers,
      'bullmq-noop',
      { BENCH_REDIS_URL: ctx.redisUrl, BENCH_PREFIX: ctx.prefix, BENCH_QUEUE: queueName, BENCH_CONCURRENCY: String(concurrency) },
      (n) => (done += n),
    );
    try {
      await group.ready;
      const started = performance.now();
      for (let i = 0; i < noopJobs; i += 1000) {
        const ids = Array.from({ length: Math.min(1000, noopJobs - i) }, (_, k) => `${queueName}-${i + k}`);
        await queue.addBulk(ids.map((id) => ({ name: JOB_NAME, data: { sessionId: id, batchId: id }, opts: batchJobOptions(settings, id, 0) })));
      }
      await waitFor('P2 no-op jobs', () => done, noopJobs, 120_000);
      return { jobsPerSec: perSecond(noopJobs, performance.now() - started) };
    } finally {
      await group.stop();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      connection.disconnect();
    }
  },
};

export async function runBullmqNoopChild(context: ChildContext): Promise<void> {
  const connection = redisConnection(context.env.BENCH_REDIS_URL!, 'worker');
  const worker = new Worker(context.env.BENCH_QUEUE!, async () => {}, {
    connection,
    prefix: context.env.BENCH_PREFIX!,
    concurrency: Number(context.env.BENCH_CONCURRENCY),
  });
  worker.on('completed', () => context.done());
  await worker.waitUntilReady();
}
