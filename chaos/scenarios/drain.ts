/**
 * drain: a worker is sent SIGTERM mid-turn, 20 times. It must exit 0 within its grace period,
 * lose nothing, and release its leases, so the next owner starts at once (not after the TTL).
 */
import { hostname } from 'node:os';
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

export const drain: Scenario = {
  name: 'drain',
  env: { DEMO_THINK_MS: '80', SHUTDOWN_GRACE_MS: '3000', LEASE_TTL_MS: '10000' },
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 20 : 60 }, (_, i) => `drain-${i}`);
    const terms = smoke ? 4 : 20;
    for (let i = 0; i < 3; i++) await world.startWorker();
    const failures: string[] = [];
    let done = false;
    let sent = 0;
    let unreleased = 0;
    const terminator = (async () => {
      while (!done && sent < terms) {
        await sleep(1200);
        const victim = world.pick(world.liveWorkers());
        if (!victim) continue;
        victim.child.kill('SIGTERM');
        sent++;
        world.note(`SIGTERM worker ${victim.index}`);
        const { code } = await victim.exited;
        if (code !== 0) failures.push(`worker ${victim.index} exited with ${code} after SIGTERM`);
        // Its leases were released on the way out: none is still live under its name.
        for (const s of sessions) {
          const lease = await world.store.leases.get(s);
          if (lease?.leaseToken && lease.owner.ownerId === `${hostname()}:${victim.pid}` && lease.expiresAtMs > (await world.store.clock.nowMs())) unreleased++;
        }
        await world.startWorker();
      }
    })();
    // Input keeps coming until every SIGTERM was sent, so each one lands while turns are running.
    let round = 0;
    while (sent < terms) {
      await world.enqueueRounds(sessions, 1, (s) => `${s}/m${round}`, 300);
      round++;
    }
    await terminator;
    const drained = await world.drained(smoke ? 90_000 : 180_000);
    done = true;
    if (unreleased > 0) failures.push(`${unreleased} leases still live under a worker that exited after SIGTERM`);
    if (!drained) failures.push('the sessions did not drain in time');
    return { extra: { sigterms: sent, unreleasedLeases: unreleased, drained }, failures };
  },
};
