import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { SessionLeaseExpiredError } from '../../src/errors.js';
import type { LeaseClaimOutcome, LeaseOwner, OwnerLiveness, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence } from '../../src/store/drafts.js';
import { currentBootId, currentHostId, currentProcessLiveness, processStartTicks } from '../../src/store/liveness.js';
import { conformance } from './harness.js';
import { claimLeaseForTest, expectTypedError, stateCommit, TEST_TTL_MS, testOwner, underLease } from './support.js';

function acquiredLease(outcome: LeaseClaimOutcome): SessionLease {
  if (outcome.kind !== 'acquired') throw new Error(`expected acquired, got busy (holder ${outcome.holder.owner.ownerId})`);
  return outcome.lease;
}

function expectBusyWith(outcome: LeaseClaimOutcome, holder: SessionLease): void {
  expect(outcome.kind).toBe('busy');
  if (outcome.kind === 'busy') {
    expect(outcome.holder.leaseToken).toBe(holder.leaseToken);
    expect(outcome.holder.fencingToken).toBe(holder.fencingToken);
  }
}

async function holdWith(store: RuntimeStore, sessionId: string, liveness: OwnerLiveness): Promise<SessionLease> {
  return claimLeaseForTest(store, sessionId, testOwner(`holder-${sessionId}`, 'incarnation-1', liveness));
}

// From seed 004: reclaim of a provably dead holder, proved from this host's /proc.
conformance('reclaimTakesOverOnlyProvablyDeadHolders', async (store, ctx) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error('child process did not start');
    const ticks = processStartTicks(pid);
    if (ticks === null) throw new Error(`no /proc/${pid}/stat for the child`);
    const childLiveness: OwnerLiveness = { kind: 'local_process', hostId: currentHostId(), bootId: currentBootId(), pid, processStartTicks: ticks };
    const claimant: LeaseOwner = testOwner('reclaimer', 'incarnation-r', currentProcessLiveness());
    expect(claimant.liveness?.kind).toBe('local_process');

    const alive = await holdWith(store, 'alive', childLiveness);
    const dead = await holdWith(store, 'dead', childLiveness);
    const opaque = await holdWith(store, 'opaque', { kind: 'opaque' });
    const otherHost = await holdWith(store, 'other-host', { ...childLiveness, hostId: `${currentHostId()}-elsewhere` });
    const otherBoot = await holdWith(store, 'other-boot', { ...childLiveness, bootId: `${currentBootId()}-previous` });
    const stale = await holdWith(store, 'stale', childLiveness);
    const race = await holdWith(store, 'race', childLiveness);
    // A live pid that now belongs to a process started at another time: the holder is gone (pid reuse).
    const reusedPid = await holdWith(store, 'reused-pid', { ...(currentProcessLiveness() as OwnerLiveness & { kind: 'local_process' }), processStartTicks: '1' });

    // While the child runs its holder is alive: busy.
    expectBusyWith(await store.leases.reclaim('alive', claimant, leaseFence(alive), TEST_TTL_MS), alive);

    child.kill('SIGKILL');
    await exited;
    expect(processStartTicks(pid)).toBeNull();

    // Dead pid, same host and boot, exact observation: taken over with fencing + 1.
    const takenOver = acquiredLease(await store.leases.reclaim('dead', claimant, leaseFence(dead), TEST_TTL_MS));
    expect(takenOver.fencingToken).toBe(dead.fencingToken + 1);
    expect(takenOver.owner.ownerId).toBe('reclaimer');
    expect(takenOver.leaseToken).not.toBe(dead.leaseToken);
    // The dead holder's fence no longer commits; the successor's does.
    await expectTypedError(store.sessions.commit({ ...stateCommit('dead'), leaseFence: leaseFence(dead) }), SessionLeaseExpiredError, 'SESSION_LEASE_EXPIRED');
    expect((await store.sessions.commit(underLease(stateCommit('dead'), takenOver))).headRevision).toBe(1);

    expect(acquiredLease(await store.leases.reclaim('reused-pid', claimant, leaseFence(reusedPid), TEST_TTL_MS)).fencingToken).toBe(reusedPid.fencingToken + 1);

    // Nothing proves these holders dead: busy.
    expectBusyWith(await store.leases.reclaim('opaque', claimant, leaseFence(opaque), TEST_TTL_MS), opaque);
    expectBusyWith(await store.leases.reclaim('other-host', claimant, leaseFence(otherHost), TEST_TTL_MS), otherHost);
    expectBusyWith(await store.leases.reclaim('other-boot', claimant, leaseFence(otherBoot), TEST_TTL_MS), otherBoot);
    // A claimant that cannot describe its own process cannot prove anything either.
    expectBusyWith(await store.leases.reclaim('stale', testOwner('opaque-reclaimer'), leaseFence(stale), TEST_TTL_MS), stale);
    // A stale observation (wrong token, wrong fencing token, wrong incarnation) is busy.
    expectBusyWith(await store.leases.reclaim('stale', claimant, { ...leaseFence(stale), leaseToken: `${stale.leaseToken}:old` }, TEST_TTL_MS), stale);
    expectBusyWith(await store.leases.reclaim('stale', claimant, { ...leaseFence(stale), fencingToken: stale.fencingToken - 1 }, TEST_TTL_MS), stale);
    expectBusyWith(
      await store.leases.reclaim('stale', claimant, { ...leaseFence(stale), owner: { ...stale.owner, incarnationId: 'incarnation-0' } }, TEST_TTL_MS),
      stale,
    );
    // The holders that could not be proved dead still hold working fences.
    expect((await store.leases.renew(leaseFence(stale), TEST_TTL_MS)).leaseToken).toBe(stale.leaseToken);
    expect((await store.leases.renew(leaseFence(opaque), TEST_TTL_MS)).leaseToken).toBe(opaque.leaseToken);

    // Two concurrent reclaimers of one dead holder (on separate store handles): exactly one wins.
    const otherHandle = await ctx.open();
    const rival = testOwner('rival', 'incarnation-x', currentProcessLiveness());
    const outcomes = await Promise.all([
      store.leases.reclaim('race', claimant, leaseFence(race), TEST_TTL_MS),
      otherHandle.leases.reclaim('race', rival, leaseFence(race), TEST_TTL_MS),
    ]);
    const winners = outcomes.filter((outcome) => outcome.kind === 'acquired');
    expect(winners).toHaveLength(1);
    const winner = acquiredLease(winners[0]!);
    expect(winner.fencingToken).toBe(race.fencingToken + 1);
    const loser = outcomes.find((outcome) => outcome.kind === 'busy');
    expect(loser).toBeDefined();
    if (loser?.kind === 'busy') expect(loser.holder.leaseToken).toBe(winner.leaseToken);

    // A lease that is not live is acquired by reclaim as by tryClaim.
    await store.leases.release(leaseFence(winner));
    const afterRelease = acquiredLease(await store.leases.reclaim('race', testOwner('late', 'incarnation-l'), leaseFence(race), TEST_TTL_MS));
    expect(afterRelease.fencingToken).toBe(winner.fencingToken + 1);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
});
