/**
 * poison: 1 % of inputs make the turn handler throw (`!poison`) or the worker process exit
 * (`!exit`). Each must be dead-lettered after the configured attempts, with its reason, and the
 * other sessions must keep at least 80 % of the throughput they have without poison (measured in
 * a clean phase of the same size first, after a short warm-up that is not measured). Workers that
 * exit are started again.
 *
 * Workers run with TURN_SANDBOX=all (src/runtime/sandbox/pool.ts), the setting for handlers that
 * may end their process: an exiting input then ends only its sandbox process and fails alone.
 * `TURN_SANDBOX=suspects npm run chaos -- --only poison` measures the default instead (the first
 * crash of each such input ends its worker; chaos results keep the mode).
 */
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

async function phase(world: ChaosWorld, sessions: string[], perSession: number, text: (s: string, i: number) => string, timeoutMs: number): Promise<{ seconds: number; drained: boolean }> {
  const started = Date.now();
  await world.enqueueRounds(sessions, perSession, text);
  const drained = await world.drained(timeoutMs);
  return { seconds: (Date.now() - started) / 1000, drained };
}

export const poison: Scenario = {
  name: 'poison',
  env: { MAX_ATTEMPTS: '3', TURN_SANDBOX: process.env.TURN_SANDBOX ?? 'all' },
  async run(world: ChaosWorld, smoke: boolean) {
    const count = smoke ? 30 : 100;
    const perSession = 10;
    for (let i = 0; i < 3; i++) await world.startWorker();
    let supervising = true;
    let restarts = 0;
    let starting = 0;
    // A process manager (compose, systemd, Kubernetes) restarts each exited worker on its own, at
    // once and in parallel; starting them one after another here made 15 restarts a queue of
    // 15 × ~1.5 s that no runtime change could beat.
    const supervisor = (async () => {
      while (supervising) {
        await sleep(50);
        const missing = 3 - world.liveWorkers().length - starting;
        for (let i = 0; i < missing; i++) {
          restarts++;
          starting++;
          void world
            .startWorker()
            .catch((err: unknown) => world.note(`replacement failed to start: ${err instanceof Error ? err.message : String(err)}`))
            .finally(() => starting--);
        }
      }
    })();
    // Warm-up (not measured): the first turns of a fresh run pay for JIT, caches and connections.
    const warm = Array.from({ length: Math.round(count / 2) }, (_, i) => `warm-${i}`);
    await phase(world, warm, 2, (s, i) => `${s}/m${i}`, 120_000);
    const warmCommits = world.history.filter((h) => h.type === 'turn').length;

    const clean = Array.from({ length: count }, (_, i) => `clean-${i}`);
    const baseline = await phase(world, clean, perSession, (s, i) => `${s}/m${i}`, 120_000);
    const baselineCommits = world.history.filter((h) => h.type === 'turn').length - warmCommits;

    const sessions = Array.from({ length: count }, (_, i) => `poison-${i}`);
    const total = count * perSession;
    const poisoned = new Map<string, 'throw' | 'exit'>();
    while (poisoned.size < Math.max(2, Math.round(total / 100))) {
      const s = world.pick(sessions)!;
      const i = Math.floor(world.random() * perSession);
      poisoned.set(`${s}/m${i}`, poisoned.size % 2 === 0 ? 'throw' : 'exit');
    }
    const textOf = (s: string, i: number) => {
      const kind = poisoned.get(`${s}/m${i}`);
      return kind === 'throw' ? `${s}/m${i} !poison` : kind === 'exit' ? `${s}/m${i} !exit` : `${s}/m${i}`;
    };
    const poisonPhase = await phase(world, sessions, perSession, textOf, smoke ? 120_000 : 240_000);
    supervising = false;
    await supervisor;

    const poisonIds = new Set([...world.accepted.values()].filter((b) => b.sessionId.startsWith('poison-') && /!(poison|exit)/.test(JSON.stringify(b.items))).map((b) => b.batchId));
    const letters = await world.store.queue.listDeadLetters();
    const failures: string[] = [];
    for (const id of poisonIds) {
      const letter = letters.find((l) => l.batchId === id);
      if (!letter) failures.push(`poison batch ${id} (${JSON.stringify(world.accepted.get(id)?.items[0]?.payload).slice(0, 80)}) was not dead-lettered`);
      else if (!letter.reason) failures.push(`poison batch ${id} was dead-lettered without a reason`);
    }
    const phaseCommits = world.history.filter((h) => h.type === 'turn').length - baselineCommits - warmCommits;
    const ratio = baseline.seconds > 0 && poisonPhase.seconds > 0 ? phaseCommits / poisonPhase.seconds / (baselineCommits / baseline.seconds) : 0;
    if (ratio < 0.8) failures.push(`throughput with poison is ${(ratio * 100).toFixed(0)} % of the clean phase (needs 80 %)`);
    return {
      expectDeadLetter: (batchId) => poisonIds.has(batchId),
      extra: { turnSandbox: poison.env!.TURN_SANDBOX!, poisoned: poisonIds.size, workerRestarts: restarts, throughputRatio: ratio, cleanSeconds: baseline.seconds, poisonSeconds: poisonPhase.seconds },
      failures: failures.slice(0, 10),
    };
  },
};
