/**
 * duplicate-delivery: every BullMQ job is added a second time under another job id, so each
 * batch is delivered twice (BullMQ refuses ":" in custom job ids, hence "-duplicate"). Postgres
 * decides: DUP = 0.
 */
import { JOB_NAME } from '../../src/runtime/bullmq.js';
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

export const duplicateDelivery: Scenario = {
  name: 'duplicate-delivery',
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 30 : 100 }, (_, i) => `dup-${i}`);
    for (let i = 0; i < 3; i++) await world.startWorker();
    const duplicated = new Set<string>();
    let producing = true;
    const duplicator = (async () => {
      while (producing || duplicated.size < world.accepted.size) {
        const fresh = [...world.accepted.values()].filter((b) => !duplicated.has(b.batchId));
        for (const b of fresh) duplicated.add(b.batchId);
        if (fresh.length > 0) {
          await world.queue.addBulk(fresh.map((b) => ({ name: JOB_NAME, data: { sessionId: b.sessionId, batchId: b.batchId }, opts: { jobId: `${b.batchId}-duplicate` } })));
        }
        await sleep(50);
      }
    })();
    await world.enqueueRounds(sessions, smoke ? 6 : 15, (s, i) => `${s}/m${i}`);
    producing = false;
    await duplicator;
    const drained = await world.drained(smoke ? 90_000 : 180_000);
    return { extra: { duplicateJobs: duplicated.size, drained }, failures: drained ? [] : ['the sessions did not drain in time'] };
  },
};
