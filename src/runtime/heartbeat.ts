/**
 * Keeps a session lease and every claim of the running turn alive. Claims have their own TTL
 * (spec README), so a slow turn must renew them with the lease or it would lose its own work.
 * Any renewal failure is final: the holder stops, because its commit would be rejected anyway.
 */
import type { QueuedWorkClaim, RuntimeStore, SessionLease } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';

export interface HeartbeatOptions {
  store: RuntimeStore;
  lease: SessionLease;
  ttlMs: number;
  /** Called once, with the error, when a renewal fails. */
  onLost(err: unknown): void;
}

export class Heartbeat {
  private lease: SessionLease;
  private claims = new Map<string, QueuedWorkClaim>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lost = false;
  private paused = false;

  constructor(private readonly options: HeartbeatOptions) {
    this.lease = options.lease;
  }

  /** Renewals every TTL/3: two can fail or be late before the lease lapses. */
  start(): void {
    const every = Math.max(50, Math.floor(this.options.ttlMs / 3));
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.beat().finally(() => (this.running = undefined));
    }, every);
    this.timer.unref();
  }

  get isLost(): boolean {
    return this.lost;
  }

  currentLease(): SessionLease {
    return this.lease;
  }

  /** The latest version of each claim the turn holds. */
  currentClaims(): QueuedWorkClaim[] {
    return [...this.claims.values()];
  }

  addClaim(claim: QueuedWorkClaim): void {
    this.claims.set(claim.claimId, claim);
  }

  clearClaims(): void {
    this.claims.clear();
  }

  /**
   * Holds renewals while a commit completes the claims: a renewal racing the commit would find
   * its claim gone and take that for a lost claim. A commit lasts milliseconds, a TTL seconds.
   */
  async pause(): Promise<void> {
    this.paused = true;
    await this.running;
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async beat(): Promise<void> {
    if (this.lost || this.paused) return;
    const { store, ttlMs } = this.options;
    try {
      this.lease = await store.leases.renew(leaseFence(this.lease), ttlMs);
      const renewed = await Promise.all([...this.claims.values()].map((c) => store.queue.renewClaim(c, ttlMs)));
      // A claim completed or dropped while it was being renewed stays dropped.
      for (const claim of renewed) if (this.claims.has(claim.claimId)) this.claims.set(claim.claimId, claim);
    } catch (err) {
      this.lost = true;
      this.options.onLost(err);
    }
  }
}
