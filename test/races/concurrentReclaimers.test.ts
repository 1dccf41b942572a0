/**
 * Two concurrent reclaimers of one provably dead holder, 200 trials. The holder's liveness is
 * that of a real child process of this test, killed before the trials (same host and boot, pid
 * gone), so reclaim may take over; of the two reclaimers on separate store instances exactly one
 * wins with fencing + 1 and the other sees the winner as the holder.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { OwnerLiveness } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { currentBootId, currentHostId, currentProcessLiveness, processStartTicks } from '../../src/store/liveness.js';
import { raceStores } from './support.js';

const TRIALS = 200;
const fx = raceStores(2);

async function deadChildLiveness(): Promise<OwnerLiveness> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const ticks = processStartTicks(pid);
  if (ticks === null) throw new Error(`no /proc/${pid}/stat for the child`);
  child.kill('SIGKILL');
  await exited;
  expect(processStartTicks(pid)).toBeNull();
  return { kind: 'local_process', hostId: currentHostId(), bootId: currentBootId(), pid, processStartTicks: ticks };
}

describe('race: two reclaimers of a dead holder', () => {
  it(`${TRIALS} trials: exactly one reclaimer wins`, async () => {
    const [a, b] = fx.stores;
    const dead = await deadChildLiveness();
    const me = currentProcessLiveness();
    let winsA = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const s = `reclaim-${trial}`;
      const held = await a!.leases.tryClaim(s, { ownerId: 'dead-holder', incarnationId: `dead-${trial}`, liveness: dead }, 3_600_000);
      if (held.kind !== 'acquired') throw new Error('lease busy');
      const observed = leaseFence(held.lease);
      const outcomes = await Promise.all([
        a!.leases.reclaim(s, { ownerId: 'reclaimer-a', incarnationId: 'a-1', liveness: me }, observed, 60_000),
        b!.leases.reclaim(s, { ownerId: 'reclaimer-b', incarnationId: 'b-1', liveness: me }, observed, 60_000),
      ]);
      const winners = outcomes.filter((o) => o.kind === 'acquired');
      expect(winners, `trial ${trial}`).toHaveLength(1);
      const winner = winners[0]!.kind === 'acquired' ? winners[0]!.lease : undefined;
      expect(winner!.fencingToken).toBe(held.lease.fencingToken + 1);
      const loser = outcomes.find((o) => o.kind === 'busy');
      expect(loser?.kind === 'busy' && loser.holder.leaseToken).toBe(winner!.leaseToken);
      if (outcomes[0]!.kind === 'acquired') winsA++;
      // The store agrees with the answers: the winner holds the lease.
      expect((await b!.leases.get(s))!.leaseToken).toBe(winner!.leaseToken);
    }
    // Both sides won some trials: the race was real in both directions (not a fixed order).
    expect(winsA).toBeGreaterThan(0);
    expect(winsA).toBeLessThan(TRIALS);
  }, 60_000);
});
