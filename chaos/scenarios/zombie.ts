/**
 * zombie: the lease holder is frozen (SIGSTOP) mid-turn for twice the lease TTL, a successor takes
 * over and commits, then the holder is thawed (SIGCONT): its late commit must be rejected (the
 * checker's STALE and FENCE), and it must keep running (no crash loop). Spec 06: 50 trials.
 */
import { hostname } from 'node:os';
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

const TTL_MS = 800;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return false;
}

export const zombie: Scenario = {
  name: 'zombie',
  env: { LEASE_TTL_MS: String(TTL_MS), DEMO_THINK_MS: '250', STALLED_INTERVAL_MS: '500' },
  async run(world: ChaosWorld, smoke: boolean) {
    const trials = smoke ? 5 : 50;
    for (let i = 0; i < 2; i++) await world.startWorker();
    const failures: string[] = [];
    let rejected = 0;
    for (let t = 0; t < trials; t++) {
      const s = `zombie-${t}`;
      await world.enqueue(s, `${s}/first`, 'first');
      const held = await until(async () => Boolean((await world.store.leases.get(s))?.leaseToken), 10_000);
      const lease = await world.store.leases.get(s);
      const holder = world.liveWorkers().find((w) => lease && lease.owner.ownerId === `${hostname()}:${w.pid}`);
      if (!held || !holder) {
        failures.push(`trial ${t}: no live holder found`);
        continue;
      }
      const refusedBefore = world.history.filter((h) => h.type === 'refused' && h.pid === holder.pid).length;
      holder.child.kill('SIGSTOP');
      world.note(`SIGSTOP worker ${holder.index} holding ${s} (fencing ${lease!.fencingToken})`);
      await world.enqueue(s, `${s}/second`, 'second');
      await sleep(2 * TTL_MS);
      const successor = await until(async () => (await world.store.queue.list(s)).length === 0, 15_000);
      holder.child.kill('SIGCONT');
      world.note(`SIGCONT worker ${holder.index}`);
      if (!successor) failures.push(`trial ${t}: the successor did not drain ${s}`);
      await sleep(TTL_MS);
      if (!holder.alive()) failures.push(`trial ${t}: the thawed holder exited`);
      if (world.history.filter((h) => h.type === 'refused' && h.pid === holder.pid).length > refusedBefore) rejected++;
    }
    // Crash loop check: the thawed workers still serve new input.
    await world.enqueue('after-zombies', 'still serving', 'after');
    if (!(await world.drained(20_000))) failures.push('the workers no longer serve input after the trials');
    if (world.liveWorkers().length < 2) failures.push('a worker died');
    return { extra: { trials, zombieCommitsRefused: rejected }, failures };
  },
};
