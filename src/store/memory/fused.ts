/**
 * The fused calls of the reference model: the drain's first round trip (lease, first claim,
 * session read) and a commit with the next claim. Each is its parts run back to back, which in
 * one process is atomic; the answers say `first: null` / `next: null` exactly where the Postgres
 * statement leaves the claim to the caller, so both stores answer alike.
 */
import type {
  AcquireAndClaimNextResult,
  CommitAndClaimNextResult,
  CommitNextClaim,
  RuntimeCommit,
} from '../contract.js';
import { leaseFence } from '../drafts.js';
import { parseAcquireAndClaimNext, parseCommitNextClaim, validateCommit } from '../validate.js';
import { claimNext, hasClaimableNext, hasSpentBatches } from './claims.js';
import { sessionCommit } from './commits.js';
import { leaseTryClaim } from './leases.js';
import { sessionLoad } from './reads.js';
import { stampKeyOf, storeNow, type MemoryState } from './state.js';

export function acquireAndClaimNext(state: MemoryState, input: unknown): AcquireAndClaimNextResult {
  const req = parseAcquireAndClaimNext(input, state.limits);
  const now = storeNow(state);
  const row = state.leases.get(req.sessionId);
  const free = !row || row.leaseToken === null;
  if (free && !hasSpentBatches(state, req.sessionId, req.maxAttempts, now) && !hasClaimableNext(state, req.sessionId, req.maxBatches, now, req.owner)) {
    return { kind: 'idle' };
  }
  const outcome = leaseTryClaim(state, req.sessionId, req.owner, req.ttlMs);
  if (outcome.kind === 'busy') return outcome;
  // A takeover or re-entry, or batches to dead-letter first: the caller claims (as in Postgres).
  if (!free || hasSpentBatches(state, req.sessionId, req.maxAttempts, now)) return { kind: 'acquired', lease: outcome.lease, first: null };
  const { claim } = claimNext(state, { ...req, fence: leaseFence(outcome.lease) });
  const session = sessionLoad(state, req.sessionId, { kind: 'active_path' });
  return { kind: 'acquired', lease: outcome.lease, first: { claim: claim!, session } };
}

export function commitAndClaimNext(state: MemoryState, input: RuntimeCommit, nextInput: CommitNextClaim): CommitAndClaimNextResult {
  const { commit, outbox } = validateCommit(input, state.limits);
  const next = parseCommitNextClaim(commit, nextInput, state.limits);
  const replay = commit.turnStamp !== undefined && state.turnStamps.has(stampKeyOf(commit.sessionId, commit.turnStamp.turnId));
  const result = sessionCommit(state, input);
  if (replay || outbox.length > 0 || hasSpentBatches(state, commit.sessionId, next.maxAttempts, storeNow(state))) return { result, next: null };
  const { fence, ...request } = next;
  return { result, next: claimNext(state, { ...request, sessionId: commit.sessionId, fence }) };
}
