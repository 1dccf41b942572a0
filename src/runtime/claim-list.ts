/**
 * The claims one turn holds (src/runtime/turn-state.ts), latest version of each: the turn adds
 * and clears them, the heartbeat (src/runtime/heartbeat.ts) renews them in place.
 */
import type { QueuedWorkClaim } from '../store/contract.js';

export class ClaimList {
  private readonly claims = new Map<string, QueuedWorkClaim>();

  /** The latest version of each claim held, in the order they were added. */
  list(): QueuedWorkClaim[] {
    return [...this.claims.values()];
  }

  add(claim: QueuedWorkClaim): void {
    this.claims.set(claim.claimId, claim);
  }

  clear(): void {
    this.claims.clear();
  }

  /** Replaces a claim with its renewed version; false (and nothing changes) when it is no longer held. */
  replaceIfHeld(claim: QueuedWorkClaim): boolean {
    if (!this.claims.has(claim.claimId)) return false;
    this.claims.set(claim.claimId, claim);
    return true;
  }

  holds(claimId: string): boolean {
    return this.claims.has(claimId);
  }
}
