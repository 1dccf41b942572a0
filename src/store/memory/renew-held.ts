/**
 * A process's heartbeat in the reference model: each lease and claim renewed as `renew` and
 * `renewClaim` would, a lost one read as null (spec 02 "Session execution leases").
 */
import { QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../../errors.js';
import type { RenewHeldRequest, RenewHeldResult } from '../contract.js';
import { parseRenewHeld } from '../validate.js';
import { claimRenew } from './claims.js';
import { leaseRenew } from './leases.js';
import type { MemoryState } from './state.js';

function orNull<T>(renew: () => T): T | null {
  try {
    return renew();
  } catch (err) {
    if (err instanceof SessionLeaseExpiredError || err instanceof QueuedWorkClaimExpiredError) return null;
    throw err;
  }
}

export function renewHeld(state: MemoryState, req: RenewHeldRequest): RenewHeldResult {
  const { ttlMs, leases, claims } = parseRenewHeld(req, state.limits);
  return {
    leases: leases.map((fence) => orNull(() => leaseRenew(state, fence, ttlMs))),
    claims: claims.map((claim) => orNull(() => claimRenew(state, claim, ttlMs))),
  };
}
