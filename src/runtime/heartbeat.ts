/**
 * Keeps session leases and every claim of their running turns alive. Claims have their own TTL
 * (spec README), so a slow turn must renew them with the lease or it would lose its own work.
 * Any renewal failure is final for its holder: it stops, because its commit would be rejected anyway.
 *
 * One `Renewer` per worker process renews every drain's lease and claims in one store call
 * (`leases.renewHeld`, one statement) per interval, however many sessions the process runs: the
 * heartbeat was 1 + N statements per session per interval, which at 500 running turns per process
 * and a 15 s TTL was 200 statements a second doing nothing but keeping work alive.
 */
import { QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../errors.js';
import type { QueuedWorkClaim, RuntimeStore, SessionLease } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import type { ClaimList } from './claim-list.js';

export interface RenewerOptions {
  store: RuntimeStore;
  /** Lease and claim TTL in ms; everything registered is renewed every TTL/3 (two renewals can fail or be late before a lease lapses). */
  ttlMs: number;
}

/** The process's heartbeat: one timer, one store call per interval for every registered holder. */
export class Renewer {
  private readonly holders = new Set<Heartbeat>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(readonly options: RenewerOptions) {}

  add(holder: Heartbeat): void {
    this.holders.add(holder);
    if (this.timer) return;
    const every = Math.max(50, Math.floor(this.options.ttlMs / 3));
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.beat().finally(() => (this.running = undefined));
    }, every);
    this.timer.unref();
  }

  remove(holder: Heartbeat): void {
    this.holders.delete(holder);
    if (this.holders.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Resolves when the renewal in flight (if any) has settled. */
  async settled(): Promise<void> {
    await this.running;
  }

  private async beat(): Promise<void> {
    const due = [...this.holders].filter((h) => h.isDue);
    if (due.length === 0) return;
    const claims = due.map((h) => h.currentClaims());
    let result;
    try {
      result = await this.options.store.leases.renewHeld({
        ttlMs: this.options.ttlMs,
        leases: due.map((h) => leaseFence(h.currentLease())),
        claims: claims.flat(),
      });
    } catch (err) {
      for (const holder of due) holder.fail(err);
      return;
    }
    let next = 0;
    for (const [i, holder] of due.entries()) {
      const mine = result.claims.slice(next, next + claims[i]!.length);
      next += claims[i]!.length;
      holder.renewed(result.leases[i] ?? null, claims[i]!, mine);
    }
  }
}

export interface HeartbeatOptions {
  store: RuntimeStore;
  lease: SessionLease;
  ttlMs: number;
  /** The process's renewer; absent, the heartbeat gets one of its own. */
  renewer?: Renewer;
  /**
   * Asked at each renewal for the claims to renew with the lease: those of the turn in flight
   * (src/runtime/turn-state.ts), renewed in place; null between turns.
   */
  claims(): ClaimList | null;
  /** Called once, with the error, when a renewal fails. */
  onLost(err: unknown): void;
}

/**
 * Keeps one drain's lease and its turn's claims alive through the process's Renewer while
 * started. It keeps the renewed lease; the claims stay the turn's, asked for at each renewal.
 */
export class Heartbeat {
  private lease: SessionLease;
  private readonly renewer: Renewer;
  private lost = false;
  private paused = false;

  constructor(private readonly options: HeartbeatOptions) {
    this.lease = options.lease;
    this.renewer = options.renewer ?? new Renewer({ store: options.store, ttlMs: options.ttlMs });
  }

  start(): void {
    this.renewer.add(this);
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** Whether the next renewal should include this holder. */
  get isDue(): boolean {
    return !this.lost && !this.paused;
  }

  currentLease(): SessionLease {
    return this.lease;
  }

  /** The claims to renew with the lease: the latest version of each claim the turn in flight holds. */
  currentClaims(): QueuedWorkClaim[] {
    return this.options.claims()?.list() ?? [];
  }

  /**
   * Holds renewals while a claim or commit statement runs: a renewal racing a commit would find
   * its claim gone and take that for a lost claim. A commit lasts milliseconds, a TTL seconds.
   */
  async pause(): Promise<void> {
    this.paused = true;
    await this.renewer.settled();
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.renewer.remove(this);
    await this.renewer.settled();
  }

  /** The Renewer's answer for this holder: the lease (null: lost) and each claim sent (null: lost). */
  renewed(lease: SessionLease | null, sent: QueuedWorkClaim[], claims: (QueuedWorkClaim | null)[]): void {
    if (this.lost) return;
    if (!lease) return this.fail(new SessionLeaseExpiredError(`the lease of ${this.lease.sessionId} is not live under this fence`, { sessionId: this.lease.sessionId }));
    this.lease = lease;
    const held = this.options.claims();
    for (const [i, claim] of claims.entries()) {
      const id = sent[i]!.claimId;
      // A claim completed or dropped while it was being renewed stays dropped.
      if (!held?.holds(id)) continue;
      if (!claim) return this.fail(new QueuedWorkClaimExpiredError(`claim ${id} no longer owns its batches`, { claimId: id }));
      held.replaceIfHeld(claim);
    }
  }

  fail(err: unknown): void {
    if (this.lost) return;
    this.lost = true;
    this.options.onLost(err);
  }
}
