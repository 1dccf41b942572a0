/**
 * clock-skew: workers' wall clocks are shifted by +300 s and −300 s (chaos/clock-skew-preload.ts
 * offsets Date.now in the worker process). Expiry is decided by the database clock, so the
 * invariants must not change.
 */
import type { ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

const SKEWS_MS = [300_000, -300_000, 300_000, -300_000];

export const clockSkew: Scenario = {
  name: 'clock-skew',
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 30 : 100 }, (_, i) => `skew-${i}`);
    for (const skew of SKEWS_MS) await world.startWorker({ clockSkewMs: skew });
    await world.enqueueRounds(sessions, smoke ? 6 : 10, (s, i) => `${s}/m${i}`);
    const drained = await world.drained(smoke ? 90_000 : 180_000);
    return { extra: { skewsMs: SKEWS_MS.join('/'), drained }, failures: drained ? [] : ['the sessions did not drain in time'] };
  },
};
