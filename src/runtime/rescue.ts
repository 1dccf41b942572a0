/**
 * Same-host rescue: a worker process that dies (SIGKILL, OOM, a handler that exits) leaves its
 * sessions leased until the TTL, and their BullMQ jobs active until BullMQ's stalled check (lock
 * 10 s + check 5 s). Every worker looks, once per interval, for live leases held by a process of
 * its own host and boot that no longer exists, reclaims them (fencing + 1; the dead holder's claims
 * die and count an interrupted attempt) and drains them at once. Jobs left behind find their
 * batches gone and finish. Other hosts cannot prove a holder dead and wait for lease expiry.
 */
import type { Logger } from 'pino';
import type { LeaseOwner, RuntimeStore, SessionLease } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import { isProcessDead } from '../store/liveness.js';
import type { RuntimeEvents } from './events.js';
import { startPeriodic, type Periodic } from './periodic.js';
import { RECONCILER_LEASE_ID } from './reconciler.js';

/** Sessions one scan looks at: a dead process held at most its concurrency's worth. */
const SCAN_LIMIT = 200;

export interface RescueOptions {
  store: RuntimeStore;
  owner: LeaseOwner;
  leaseTtlMs: number;
  intervalMs: number;
  /** Whether this process holds the session now. */
  isHeld(sessionId: string): boolean;
  /** Holds the session while `first` reclaims its lease and the drain runs (worker.ts). */
  holdAndDrain(sessionId: string, first: () => Promise<{ lease: SessionLease } | null>): Promise<unknown>;
  events: RuntimeEvents;
  log: Logger;
}

export type Rescue = Periodic;

export function startRescue(options: RescueOptions): Rescue {
  const { store, owner, log } = options;
  const me = owner.liveness;

  async function rescueOne(holder: SessionLease): Promise<void> {
    const { sessionId } = holder;
    if (options.isHeld(sessionId) || sessionId === RECONCILER_LEASE_ID) return;
    if (!isProcessDead(holder.owner.liveness, me)) return;
    await options.holdAndDrain(sessionId, async () => {
      const claimed = await store.leases.reclaim(sessionId, owner, leaseFence(holder), options.leaseTtlMs);
      if (claimed.kind !== 'acquired') return null;
      options.events.emit('lease_takeover', { sessionId, fencingToken: claimed.lease.fencingToken });
      log.info({ sessionId, fencingToken: claimed.lease.fencingToken, deadOwnerId: holder.owner.ownerId }, 'rescued a session of a dead process on this host');
      return { lease: claimed.lease };
    });
  }

  async function scan(): Promise<void> {
    if (me?.kind !== 'local_process') return;
    try {
      const held = await store.leases.listLiveOnHost({ hostId: me.hostId, bootId: me.bootId, limit: SCAN_LIMIT });
      const dead = held.filter((l) => l.owner.ownerId !== owner.ownerId || l.owner.incarnationId !== owner.incarnationId);
      await Promise.all(dead.map((holder) => rescueOne(holder).catch((err) => log.warn({ err, sessionId: holder.sessionId }, 'rescue failed'))));
    } catch (err) {
      log.warn({ err }, 'rescue scan failed; next scan in one interval');
    }
  }

  return startPeriodic(options.intervalMs, scan);
}
