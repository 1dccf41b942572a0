/**
 * kill: turns over many sessions while a random worker is SIGKILLed every interval and a new one
 * started in its place (spec 06: 5,000 turns over 200 sessions, 4 workers, every 2 s).
 */
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

export const kill: Scenario = {
  name: 'kill',
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 40 : 200 }, (_, i) => `kill-${i}`);
    const perSession = smoke ? 10 : 25;
    const workers = smoke ? 3 : 4;
    const everyMs = smoke ? 1500 : 2000;
    for (let i = 0; i < workers; i++) await world.startWorker();
    let done = false;
    let kills = 0;
    const starting: Promise<unknown>[] = [];
    const killer = (async () => {
      while (!done) {
        await sleep(everyMs);
        if (done) break;
        const victim = world.pick(world.liveWorkers());
        if (!victim) continue;
        victim.child.kill('SIGKILL');
        await victim.exited;
        kills++;
        world.note(`SIGKILL worker ${victim.index} (pid ${victim.pid})`);
        // The replacement starts in the background (a tsx start takes seconds), so kills keep their cadence.
        starting.push(world.startWorker().catch((err) => world.note(`replacement failed to start: ${err instanceof Error ? err.message : err}`)));
      }
    })();
    await world.enqueueRounds(sessions, perSession, (s, i) => `${s}/m${i}`);
    // Kills go on while the work drains, up to the fault window; then the faults stop and the
    // rest drains without them (LOST is counted after the drain, spec 06). On the 2-core machine a
    // tsx worker start costs about a second of CPU, so the run is slow while kills go on.
    const drainedUnderFaults = await world.drained(smoke ? 60_000 : 240_000);
    done = true;
    await killer;
    await Promise.all(starting);
    const faultsEndedAtMs = world.elapsed();
    const drained = drainedUnderFaults || (await world.drained(smoke ? 60_000 : 600_000));
    return {
      extra: { kills, drainedUnderFaults, faultsEndedAtS: Math.round(faultsEndedAtMs / 1000), drained },
      failures: drained ? [] : ['the sessions did not drain in time'],
    };
  },
};
