/**
 * 10,000 forged tokens and cross-session fences against live leases and claims, on both stores:
 * renew, claimReady, commit, renewClaim and release each get 2,000 attempts, and none is
 * accepted. The forgeries know everything but the secret: the right owner, incarnation and
 * fencing token with a random token, the real token with one character changed, another
 * session's real token, or a whole fence or claim of another session.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { TurnlaneError } from '../../src/errors.js';
import type { LeaseFence, QueuedWorkClaim, RuntimeCommit, RuntimeStore, SessionLease } from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { conformance } from '../conformance/harness.js';

const ATTEMPTS = Number(process.env.TURNLANE_FORGERY_ATTEMPTS ?? 10_000);
const OPS = ['renew', 'claimReady', 'commit', 'renewClaim', 'release'] as const;
/** Attempts in flight at once on the Postgres pool. */
const IN_FLIGHT = 16;
const TTL = 3_600_000;

function flipOne(token: string, i: number): string {
  const at = i % token.length;
  const c = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + c + token.slice(at + 1);
}

/** A forged token: random bytes, random text, a near miss of the real one, another session's, or empty. */
function forgedToken(real: string, other: string, i: number): string {
  switch (i % 6) {
    case 0:
      return randomBytes(16).toString('base64url');
    case 1:
      return flipOne(real, i);
    case 2:
      return other;
    case 3:
      return real.slice(0, -1);
    case 4:
      return `${real} `;
    default:
      return i % 12 === 5 ? '' : randomBytes(1 + (i % 40)).toString('hex');
  }
}

interface Victim {
  sessionId: string;
  lease: SessionLease;
  claim: QueuedWorkClaim;
}

async function setUp(store: RuntimeStore, sessionId: string): Promise<Victim> {
  const acquired = await store.leases.tryClaim(sessionId, { ownerId: `holder-${sessionId}`, incarnationId: 'inc-1' }, TTL);
  if (acquired.kind !== 'acquired') throw new Error('busy');
  const fence = leaseFence(acquired.lease);
  const draft = (text: string) => ({
    sessionId,
    deliveryPolicy: 'earliest_safe_boundary' as const,
    slotPolicy: 'exclusive' as const,
    payloads: [{ type: 'turn_input' as const, input: { items: [{ type: 'text' as const, text }] } }],
  });
  await store.queue.enqueue(draft('claimed'));
  await store.queue.enqueue(draft('pending'));
  const claim = await store.queue.claimReady({ sessionId, fence, owner: fence.owner, boundary: 'idle', ttlMs: TTL, maxBatches: 1 });
  return { sessionId, lease: acquired.lease, claim: claim! };
}

function forgedFence(victim: Victim, other: Victim, i: number): LeaseFence {
  const real = leaseFence(victim.lease);
  // Every seventh attempt presents the other session's whole, live fence with this session's id.
  if (i % 7 === 6) return { ...leaseFence(other.lease), sessionId: victim.sessionId };
  return { ...real, leaseToken: forgedToken(real.leaseToken, other.lease.leaseToken, i) };
}

function forgedClaim(victim: Victim, other: Victim, i: number): QueuedWorkClaim {
  // Every seventh attempt presents the other session's claim token under this claim's id.
  if (i % 7 === 6) return { ...victim.claim, claimToken: other.claim.claimToken };
  return { ...victim.claim, claimToken: forgedToken(victim.claim.claimToken, other.claim.claimToken, i) };
}

function emptyCommit(sessionId: string, fence: LeaseFence, completion?: QueuedWorkClaim): RuntimeCommit {
  return {
    sessionId,
    state: { graph: { kind: 'unchanged', leafNodeId: null }, checkpoint: { turnIndex: 0 }, agentFrames: [], currentAgentFrameId: null },
    leaseFence: fence,
    releaseLease: fence,
    ...(completion ? { completedQueueClaims: [queueClaimCompletion(completion)] } : {}),
  };
}

/** One forged attempt; resolves to true if the store accepted it. Typed refusals are the expected outcome. */
async function attempt(store: RuntimeStore, op: (typeof OPS)[number], victim: Victim, other: Victim, i: number): Promise<boolean> {
  const fence = forgedFence(victim, other, i);
  try {
    switch (op) {
      case 'renew':
        await store.leases.renew(fence, TTL);
        return true;
      case 'claimReady':
        // Both the fence and, every other time, a cross-session request with the other's real fence.
        await store.queue.claimReady(
          i % 2 === 0
            ? { sessionId: victim.sessionId, fence, owner: fence.owner, boundary: 'idle', ttlMs: TTL, maxBatches: 5 }
            : { sessionId: victim.sessionId, fence: leaseFence(other.lease), owner: other.lease.owner, boundary: 'idle', ttlMs: TTL, maxBatches: 5 },
        );
        return true;
      case 'commit':
        // A forged fence with the real claim, or the real fence with a forged claim.
        await store.sessions.commit(i % 2 === 0 ? emptyCommit(victim.sessionId, fence, victim.claim) : emptyCommit(victim.sessionId, leaseFence(victim.lease), forgedClaim(victim, other, i)));
        return true;
      case 'renewClaim':
        await store.queue.renewClaim(forgedClaim(victim, other, i), TTL);
        return true;
      case 'release':
        // Silent by contract: acceptance shows in the lease state, checked below.
        await store.leases.release(fence);
        return false;
    }
  } catch (err) {
    if (err instanceof TurnlaneError) return false;
    throw err;
  }
}

conformance('forgedTokensAndCrossSessionFencesAreNeverAccepted', async (store) => {
  const a = await setUp(store, 'victim-a');
  const b = await setUp(store, 'victim-b');
  const before = await Promise.all([store.leases.get('victim-a'), store.leases.get('victim-b')]);
  let accepted = 0;
  for (let start = 0; start < ATTEMPTS; start += IN_FLIGHT) {
    const round = Array.from({ length: Math.min(IN_FLIGHT, ATTEMPTS - start) }, (_, k) => {
      const i = start + k;
      const [victim, other] = i % 2 === 0 ? [a, b] : [b, a];
      return attempt(store, OPS[Math.floor(i / 2) % OPS.length]!, victim, other, i);
    });
    accepted += (await Promise.all(round)).filter(Boolean).length;
  }
  expect(accepted).toBe(0);
  // Nothing changed: the same holders with the same expiry (no forged renew extended them, no
  // forged release cleared them), the claims still held, the pending batches still pending, no commit.
  expect(await Promise.all([store.leases.get('victim-a'), store.leases.get('victim-b')])).toEqual(before);
  for (const v of [a, b]) {
    expect((await store.queue.listPending(v.sessionId)).length).toBe(1);
    expect((await store.queue.list(v.sessionId)).length).toBe(2);
    expect(await store.sessions.load(v.sessionId, { kind: 'full_graph' })).toBeNull();
    // The real holders still work.
    expect((await store.queue.renewClaim(v.claim, TTL)).claimId).toBe(v.claim.claimId);
    expect((await store.leases.renew(leaseFence(v.lease), TTL)).leaseToken).toBe(v.lease.leaseToken);
  }
});
