/**
 * P8, takeover: a worker process holds N sessions mid-turn (append-one holding each turn for an
 * hour) and is SIGKILLed; a second worker, already running, must commit every one of them. Timed
 * from the kill to the last of those commits. Same host: the killed worker's liveness is
 * `local_process`, so the survivor may reclaim at once. Other host: the killed worker runs with an
 * opaque liveness, so the survivor must wait for the lease to expire (LEASE_TTL_MS).
 * Job delivery after the kill is BullMQ's stalled-job check (worker defaults: lock 10 s, check 5 s).
 */
import { benchBatchesSeed, benchSessionId } from '../../src/store/postgres/bench-seed.js';
import { runQueue, sleep, waitFor, type BenchContext, type Metrics, type Scenario } from '../harness.js';
import { startTurnlaneWorkers } from '../processes.js';

async function takeover(ctx: BenchContext, variant: 'same' | 'other'): Promise<Metrics> {
  const n = ctx.sizes.takeoverSessions;
  const tag = ctx.tag(`p8${variant}`);
  await benchBatchesSeed(ctx.sql, { prefix: tag, sessions: n, perSession: 1, slotPolicy: 'exclusive', mergeKey: null });
  const rq = runQueue(ctx, tag);
  const base = { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix: ctx.prefix, queueName: tag };
  const ttl = String(ctx.sizes.leaseTtlMs);
  const victim = startTurnlaneWorkers(
    1,
    {
      ...base,
      concurrency: n + 4,
      extra: { TURNLANE_HANDLER_HOLD_MS: '3600000', LEASE_TTL_MS: ttl, RECONCILE_INTERVAL_MS: '0', ...(variant === 'other' ? { TURNLANE_OWNER_LIVENESS: 'opaque' } : {}) },
    },
    () => {},
  );
  const pending = new Set(Array.from({ length: n }, (_, s) => benchSessionId(tag, s)));
  let firstCommitAt = 0;
  let lastCommitAt = 0;
  let survivor: ReturnType<typeof startTurnlaneWorkers> | undefined;
  try {
    await victim.ready;
    await rq.publishSeeded(tag, n, 1);
    const victimPid = victim.pids[0]!;
    await untilHeld(ctx, [...pending], 60_000);
    survivor = startTurnlaneWorkers(1, { ...base, concurrency: n + 4, extra: { LEASE_TTL_MS: ttl } }, (msg) => {
      if (pending.delete(msg.sessionId)) {
        lastCommitAt = performance.now();
        if (firstCommitAt === 0) firstCommitAt = lastCommitAt;
      }
    });
    await survivor.ready;
    const killedAt = performance.now();
    victim.kill(0, 'SIGKILL');
    await waitFor(`P8 ${variant}: sessions committed after the kill of ${victimPid}`, () => n - pending.size, n, 120_000);
    return { [`${variant}FirstS`]: (firstCommitAt - killedAt) / 1000, [`${variant}AllS`]: (lastCommitAt - killedAt) / 1000 };
  } finally {
    await victim.stop('SIGKILL');
    await survivor?.stop();
    await rq.close();
  }
}

/** Waits until every session has a live lease (the victim is mid-turn in all of them). */
async function untilHeld(ctx: BenchContext, sessionIds: string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const now = await ctx.store.clock.nowMs();
    const leases = await Promise.all(sessionIds.map((id) => ctx.store.leases.get(id)));
    const held = leases.filter((l) => l !== null && l.leaseToken !== '' && l.expiresAtMs > now).length;
    if (held === sessionIds.length) return;
    if (performance.now() > deadline) throw new Error(`P8: the victim holds ${held} of ${sessionIds.length} sessions after ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

export const p8Takeover: Scenario = {
  id: 'P8',
  title: 'Takeover: SIGKILL a worker holding sessions mid-turn',
  metrics: [
    { key: 'sameFirstS', label: 'same host: first session committed', unit: 's', better: 'lower' },
    { key: 'sameAllS', label: 'same host: all sessions committed', unit: 's', better: 'lower' },
    { key: 'otherFirstS', label: 'other host: first session committed', unit: 's', better: 'lower' },
    { key: 'otherAllS', label: 'other host: all sessions committed', unit: 's', better: 'lower' },
  ],
  async runOnce(ctx) {
    return { ...(await takeover(ctx, 'same')), ...(await takeover(ctx, 'other')) };
  },
};
