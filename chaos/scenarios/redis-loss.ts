/**
 * redis-loss: Redis loses every job (FLUSHDB of the run's Redis database three times) and is
 * restarted (twice; its data is not persisted, so a restart loses everything too). The
 * reconciler must publish every queued batch again: LOST = 0.
 */
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { REDIS_URL, sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

/** Restarts the local Redis with the settings it runs with (no persistence, noeviction). */
export async function restartRedis(): Promise<void> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => {});
  await admin.connect();
  const dir = ((await admin.config('GET', 'dir')) as string[])[1] ?? '/var/lib/redis';
  const logfile = ((await admin.config('GET', 'logfile')) as string[])[1] || '/var/log/redis/chaos.log';
  admin.disconnect();
  try {
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave'], { stdio: 'ignore' });
  } catch {
    // redis-cli reports the lost connection of a shutdown as an error.
  }
  await sleep(1000);
  execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logfile]);
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping'], { stdio: 'ignore' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('redis did not come back');
}

export const redisLoss: Scenario = {
  name: 'redis-loss',
  env: { RECONCILE_INTERVAL_MS: '500' },
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 30 : 100 }, (_, i) => `rl-${i}`);
    const perSession = smoke ? 8 : 15;
    for (let i = 0; i < (smoke ? 2 : 3); i++) await world.startWorker();
    const flusher = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    flusher.on('error', () => {});
    const faults = (async () => {
      const plan = smoke ? ['flush', 'flush', 'restart', 'flush'] : ['flush', 'restart', 'flush', 'restart', 'flush'];
      for (const fault of plan) {
        await sleep(smoke ? 1500 : 3000);
        if (fault === 'flush') {
          await flusher.flushdb();
          world.note('FLUSHDB');
        } else {
          await restartRedis();
          world.note('Redis restart');
        }
      }
    })();
    await world.enqueueRounds(sessions, perSession, (s, i) => `${s}/m${i}`, smoke ? 300 : 500);
    await faults;
    const drained = await world.drained(smoke ? 90_000 : 180_000);
    flusher.disconnect();
    return { extra: { drained }, failures: drained ? [] : ['the sessions did not drain in time'] };
  },
};
