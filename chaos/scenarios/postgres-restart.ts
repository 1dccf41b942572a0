/**
 * postgres-restart: the local Postgres cluster is restarted twice during a run (only here, never
 * in npm test). Workers lose every connection; leases lapse; the work resumes when it is back.
 * The driver faults the workers survived (src/runtime/driver-guard.ts, store-guard.ts) are counted
 * from their reports; a worker that exits on its own is a failure.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { sleep, type ChaosWorld } from '../harness.js';
import type { Scenario } from './types.js';

function restartPostgres(): void {
  const version = process.env.CHAOS_PG_VERSION ?? readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)!;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'ignore' });
}

export const postgresRestart: Scenario = {
  name: 'postgres-restart',
  async run(world: ChaosWorld, smoke: boolean) {
    const sessions = Array.from({ length: smoke ? 30 : 100 }, (_, i) => `pg-${i}`);
    for (let i = 0; i < 3; i++) await world.startWorker();
    // A crashed worker is started again, as a process manager would; each crash is reported.
    const supervisor = world.supervise(3);
    const faults = (async () => {
      for (let i = 0; i < 2; i++) {
        await sleep(smoke ? 2000 : 4000);
        const started = Date.now();
        restartPostgres();
        world.note(`Postgres restart (${Date.now() - started} ms)`);
      }
    })();
    await world.enqueueRounds(sessions, smoke ? 6 : 12, (s, i) => `${s}/m${i}`, 300);
    await faults;
    const drained = await world.drained(smoke ? 90_000 : 180_000);
    await supervisor.stop();
    const failures = drained ? [] : ['the sessions did not drain in time'];
    // Spec 03: workers stop claiming and resume when Postgres is back; a crash is not that.
    if (supervisor.crashes.length > 0) failures.push(`${supervisor.crashes.length} worker processes crashed during the restarts`);
    const survived = (kind: string) => world.history.filter((h) => h.type === 'driver_fault' && h.kind === kind).length;
    return {
      extra: {
        drained,
        workerCrashes: supervisor.crashes.length,
        nullSocketWritesSurvived: survived('null_socket_write'),
        storeCallsPastDeadline: survived('call_deadline'),
        poolsReplaced: survived('pool_replaced'),
      },
      failures,
    };
  },
};
