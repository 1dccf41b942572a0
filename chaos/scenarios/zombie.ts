/**
 * zombie: the lease holder is frozen (SIGSTOP) mid-turn for twice the lease TTL, a successor takes
 * over and commits, then the holder is thawed (SIGCONT): its late commit must be rejected (the
 * checker's STALE and FENCE), and it must keep running (no crash loop). Spec 06: 50 trials.
 */
import { hostname } from 'node:os';
import postgres from 'postgres';
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

/**
 * The session's lease (holder, fencing, expired or live), each queued batch's BullMQ job state, and
 * the run database's connections idle inside a transaction or waiting on a lock (pg_stat_activity):
 * a frozen holder's open transaction keeps its row locks, and a successor's takeover waits on them.
 */
async function describeSession(world: ChaosWorld, sessionId: string): Promise<string> {
  const sql = postgres(world.dbUrl, { max: 1, onnotice: () => {} });
  try {
    const [lease, now, batches] = await Promise.all([world.store.leases.get(sessionId), world.store.clock.nowMs(), world.store.queue.list(sessionId)]);
    const holder = !lease ? 'never leased' : !lease.leaseToken ? `released (fencing ${lease.fencingToken})` : `held by ${lease.owner.ownerId} fencing ${lease.fencingToken}, ${lease.expiresAtMs > now ? 'live' : `expired ${now - lease.expiresAtMs} ms ago`}`;
    const jobs = await Promise.all(batches.map(async (b) => `${b.batchId}: job ${await world.queue.getJobState(b.batchId)}`));
    const [pg] = await sql<{ idle_in_tx: number; lock_waits: number }[]>`
      select count(*) filter (where state = 'idle in transaction')::int as idle_in_tx, count(*) filter (where wait_event_type = 'Lock')::int as lock_waits
      from pg_stat_activity where datname = current_database()`;
    return `lease ${holder}; ${jobs.join(', ')}; postgres: ${pg!.idle_in_tx} idle in transaction, ${pg!.lock_waits} waiting on a lock`;
  } catch (err) {
    return `state unreadable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

export const zombie: Scenario = {
  name: 'zombie',
  env: { LEASE_TTL_MS: String(TTL_MS), DEMO_THINK_MS: '250', STALLED_INTERVAL_MS: '500' },
  async run(world: ChaosWorld, smoke: boolean) {
    const trials = smoke ? 5 : 50;
    for (let i = 0; i < 2; i++) await world.startWorker();
    const failures: string[] = [];
    /** Per trial, SIGSTOP to an empty queue for the session (ms): lease TTL, delivery and the successor's two turns. */
    const drainedAfterMs: number[] = [];
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
      const stoppedAt = Date.now();
      world.note(`SIGSTOP worker ${holder.index} holding ${s} (fencing ${lease!.fencingToken})`);
      await world.enqueue(s, `${s}/second`, 'second');
      await sleep(2 * TTL_MS);
      const successor = await until(async () => (await world.store.queue.list(s)).length === 0, 15_000);
      if (successor) drainedAfterMs.push(Date.now() - stoppedAt);
      // Seen while the holder is still frozen: who holds the lease, and where the session's jobs are.
      const stuck = successor ? '' : ` (${await describeSession(world, s)})`;
      holder.child.kill('SIGCONT');
      world.note(`SIGCONT worker ${holder.index}`);
      if (!successor) failures.push(`trial ${t}: the successor did not drain ${s}${stuck}`);
      await sleep(TTL_MS);
      if (!holder.alive()) failures.push(`trial ${t}: the thawed holder exited`);
      if (world.history.filter((h) => h.type === 'refused' && h.pid === holder.pid).length > refusedBefore) rejected++;
    }
    // Crash loop check: the thawed workers still serve new input.
    await world.enqueue('after-zombies', 'still serving', 'after');
    if (!(await world.drained(20_000))) failures.push('the workers no longer serve input after the trials');
    if (world.liveWorkers().length < 2) failures.push('a worker died');
    drainedAfterMs.sort((a, b) => a - b);
    const quantile = (q: number) => drainedAfterMs[Math.min(drainedAfterMs.length - 1, Math.floor(q * drainedAfterMs.length))] ?? 0;
    return {
      extra: { trials, zombieCommitsRefused: rejected, drainedAfterSigstopP50Ms: quantile(0.5), drainedAfterSigstopMaxMs: quantile(1) },
      failures,
    };
  },
};
