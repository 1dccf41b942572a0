/**
 * The steps of the model-based test, as plain data (so a shrunk sequence prints readably), their
 * fast-check arbitraries, and how each runs against both stores of a World.
 */
import fc from 'fast-check';
import type {
  LeaseFence,
  LeaseOwner,
  OwnerLiveness,
  QueuedWorkBatchDraft,
  QueuedWorkClaim,
  RuntimeCommit,
  SessionLease,
} from '../../src/store/contract.js';
import { leaseFence, queueClaimCompletion } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';
import { currentProcessLiveness } from '../../src/store/liveness.js';
import { HALF_STEP_MS, STEP_MS, type Side, type World } from './world.js';

export const SESSIONS = ['s1', 's2'] as const;
type SessionId = (typeof SESSIONS)[number];

const live = currentProcessLiveness();
/** This very process with a start time it never had: provably dead (pid reused) to a same-host claimant. */
const dead: OwnerLiveness = live.kind === 'local_process' ? { ...live, processStartTicks: '1' } : live;

export const OWNERS: Record<string, LeaseOwner> = {
  A: { ownerId: 'A', incarnationId: 'A-1' },
  A2: { ownerId: 'A', incarnationId: 'A-2' },
  B: { ownerId: 'B', incarnationId: 'B-1', liveness: live },
  D: { ownerId: 'D', incarnationId: 'D-1', liveness: dead },
  R: { ownerId: 'R', incarnationId: 'R-1', liveness: live },
};
type OwnerName = keyof typeof OWNERS & string;
const ownerNames = Object.keys(OWNERS) as OwnerName[];

/** 0 (dead at once), or odd multiples of half a clock step (see world.ts). */
const TTLS = [0, HALF_STEP_MS, 3 * HALF_STEP_MS] as const;

/** How a fence taken from a lease handle is presented. */
export type Forge = 'exact' | 'token' | 'fencing+1' | 'fencing-1' | 'incarnation' | 'owner' | 'other-session' | 'other-handle-token';
const FORGES: Forge[] = ['exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'token', 'fencing+1', 'fencing-1', 'incarnation', 'owner', 'other-session', 'other-handle-token'];

export type Step =
  | { op: 'tryClaim'; session: SessionId; owner: OwnerName; ttl: number }
  | { op: 'renew'; lease: number; forge: Forge; ttl: number }
  | { op: 'release'; lease: number; forge: Forge }
  | { op: 'advance'; steps: number }
  | { op: 'reclaim'; session: SessionId; owner: OwnerName; observed: number; forge: Forge; ttl: number }
  | { op: 'transfer'; lease: number; forge: Forge; owner: OwnerName; ttl: number }
  | {
      op: 'enqueue';
      session: SessionId;
      slot: 'exclusive' | 'join';
      delivery: 'earliest_safe_boundary' | 'after_current_turn_commit';
      group: 'never' | 'g1' | 'g2';
      sourceKey: string | null;
      delay: number;
      command: boolean;
    }
  | { op: 'claimReady'; lease: number; forge: Forge; session: SessionId | null; boundary: 'idle' | 'active_turn_checkpoint'; maxBatches: number; ttl: number }
  | { op: 'claimByBatchIds'; lease: number; forge: Forge; boundary: 'idle' | 'active_turn_checkpoint'; batches: number[]; ttl: number }
  | { op: 'claimCommand'; lease: number; forge: Forge; ttl: number }
  | { op: 'renewClaim'; claim: number; ttl: number }
  | { op: 'abandonClaim'; claim: number; failure: null | { maxAttempts: number } }
  | { op: 'cancel'; session: SessionId; batch: number }
  | { op: 'deadLetter'; session: SessionId; batch: number }
  | { op: 'requeue'; batch: number }
  | {
      op: 'commit';
      /** Null: the session of the lease handle (s1 without one). */
      session: SessionId | null;
      lease: number | null;
      forge: Forge;
      claims: number[];
      /** A turn stamp (turn id and content variant: the same pair replays, another variant conflicts). */
      stamp: null | { turnId: string; variant: number };
      expectedHead: number | null;
      release: boolean;
      outbox: null | { sourceKey: string | null };
    };

/** Null six times in seven. */
function mostlyNull<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}

const session = fc.constantFrom<SessionId>(...SESSIONS);
const owner = fc.constantFrom<OwnerName>('A', 'A', 'A', 'A', ...ownerNames);
const ttl = fc.constantFrom<number>(TTLS[0], TTLS[1], TTLS[1], TTLS[2], TTLS[2], TTLS[2], TTLS[2], TTLS[2]);
const forge = fc.constantFrom<Forge>(...FORGES);
/** A handle counted from the newest: mostly the newest, sometimes an older (likely stale) one. */
const handle = fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) });
const boundary = fc.constantFrom<'idle' | 'active_turn_checkpoint'>('idle', 'active_turn_checkpoint');
const sourceKey = fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: null, freq: 2 });

export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('tryClaim' as const), session, owner, ttl }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('renew' as const), lease: handle, forge, ttl }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), lease: handle, forge }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), steps: fc.constantFrom(1, 1, 2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reclaim' as const), session, owner: fc.constantFrom<OwnerName>('R', 'A', 'B'), observed: handle, forge, ttl }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('transfer' as const), lease: handle, forge, owner, ttl }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('enqueue' as const),
      session,
      slot: fc.constantFrom<'exclusive' | 'join'>('exclusive', 'join', 'join'),
      delivery: fc.constantFrom<'earliest_safe_boundary' | 'after_current_turn_commit'>('earliest_safe_boundary', 'after_current_turn_commit'),
      group: fc.constantFrom<'never' | 'g1' | 'g2'>('never', 'g1', 'g1', 'g2'),
      sourceKey,
      delay: fc.constantFrom(0, 0, 0, HALF_STEP_MS, 3 * HALF_STEP_MS),
      command: fc.constantFrom(false, false, false, true),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('claimReady' as const),
      lease: handle,
      forge,
      session: mostlyNull(session),
      boundary,
      maxBatches: fc.constantFrom(0, 1, 2, 5),
      ttl,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('claimByBatchIds' as const),
      lease: handle,
      forge,
      boundary,
      batches: fc.array(fc.nat({ max: 12 }), { maxLength: 3 }),
      ttl,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('claimCommand' as const), lease: handle, forge, ttl }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('renewClaim' as const), claim: handle, ttl }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('abandonClaim' as const),
      claim: handle,
      failure: fc.option(fc.record({ maxAttempts: fc.integer({ min: 1, max: 2 }) }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), session, batch: fc.nat({ max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deadLetter' as const), session, batch: fc.nat({ max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('requeue' as const), batch: fc.nat({ max: 12 }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('commit' as const),
      session: mostlyNull(session),
      lease: fc.option(handle, { nil: null, freq: 8 }),
      forge,
      claims: fc.oneof(fc.constant<number[]>([0]), fc.array(handle, { maxLength: 2 })),
      stamp: fc.option(fc.record({ turnId: fc.constantFrom('t1', 't2', 't3'), variant: fc.nat({ max: 1 }) }), { nil: null }),
      expectedHead: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 3 }) }),
      release: fc.constantFrom(false, false, false, true),
      outbox: mostlyNull(fc.record({ sourceKey })),
    }),
  },
);

/** The handle `index` places back from the newest (wrapping). */
function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[items.length - 1 - (index % items.length)];
}

function otherSession(sessionId: string): string {
  return sessionId === 's1' ? 's2' : 's1';
}

/** The fence a step presents, built from this side's own lease handle; null when it has none yet. */
function fenceFor(side: Side, index: number, how: Forge): LeaseFence | null {
  const lease = pick(side.leases, index);
  if (!lease) return null;
  const fence = leaseFence(lease);
  switch (how) {
    case 'exact':
      return fence;
    case 'token':
      return { ...fence, leaseToken: 'forged-token-AAAAAAAAAAAAAAAAAAAA' };
    case 'fencing+1':
      return { ...fence, fencingToken: fence.fencingToken + 1 };
    case 'fencing-1':
      return { ...fence, fencingToken: fence.fencingToken - 1 };
    case 'incarnation':
      return { ...fence, owner: { ...fence.owner, incarnationId: `${fence.owner.incarnationId}-forged` } };
    case 'owner':
      return { ...fence, owner: { ...fence.owner, ownerId: 'mallory' } };
    case 'other-session':
      return { ...fence, sessionId: otherSession(fence.sessionId) };
    case 'other-handle-token': {
      // The token of a different handle (another holder, another session or an older grant).
      const other = side.leases.find((l) => l.leaseToken !== lease.leaseToken && l.leaseToken !== '');
      return other ? { ...fence, leaseToken: other.leaseToken } : { ...fence, leaseToken: 'no-other-token' };
    }
  }
}

function draftOf(side: Side, step: Extract<Step, { op: 'enqueue' }>): QueuedWorkBatchDraft {
  return {
    sessionId: step.session,
    deliveryPolicy: step.delivery,
    slotPolicy: step.slot,
    mergeKey: step.group === 'never' ? { kind: 'never' } : { kind: 'group', key: step.group },
    ...(step.sourceKey !== null ? { sourceKey: step.sourceKey } : {}),
    ...(step.delay > 0 ? { availableAtMs: side.at(step.delay) } : {}),
    payloads: step.command
      ? [{ type: 'session_command', command: { kind: 'reset_session', reason: `reset ${step.session}` } }]
      : [{ type: 'turn_input', input: { items: [{ type: 'text', text: `input for ${step.session}` }] } }],
  };
}

function recordLease(side: Side, lease: SessionLease | undefined): void {
  if (lease) side.leases.push(lease);
}

function recordClaim(side: Side, claim: QueuedWorkClaim | null | undefined): void {
  if (claim) side.claims.push(claim);
}

/** Runs one step on both stores (World.both compares them) and records the handles it produced. */
export async function runStep(world: World, step: Step): Promise<void> {
  const what = JSON.stringify(step);
  switch (step.op) {
    case 'tryClaim': {
      const results = await world.both(what, (s) => s.store.leases.tryClaim(step.session, OWNERS[step.owner]!, step.ttl));
      world.sides.forEach((s, i) => recordLease(s, results[i]?.kind === 'acquired' ? results[i].lease : undefined));
      return;
    }
    case 'renew': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      const results = await world.both(what, (s) => s.store.leases.renew(fenceFor(s, step.lease, step.forge)!, step.ttl));
      world.sides.forEach((s, i) => recordLease(s, results[i]));
      return;
    }
    case 'release': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      await world.both(what, (s) => s.store.leases.release(fenceFor(s, step.lease, step.forge)!));
      return;
    }
    case 'advance':
      for (const s of world.sides) s.store.clock.advance(step.steps * STEP_MS);
      return;
    case 'reclaim': {
      if (world.sides.some((s) => !fenceFor(s, step.observed, step.forge))) return;
      const results = await world.both(what, (s) =>
        s.store.leases.reclaim(step.session, OWNERS[step.owner]!, fenceFor(s, step.observed, step.forge)!, step.ttl),
      );
      world.sides.forEach((s, i) => recordLease(s, results[i]?.kind === 'acquired' ? results[i].lease : undefined));
      return;
    }
    case 'transfer': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      const results = await world.both(what, (s) => s.store.leases.transfer(fenceFor(s, step.lease, step.forge)!, OWNERS[step.owner]!, step.ttl));
      world.sides.forEach((s, i) => recordLease(s, results[i]));
      return;
    }
    case 'enqueue':
      await world.both(what, (s) => s.store.queue.enqueue(draftOf(s, step)));
      return;
    case 'claimReady': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      const results = await world.both(what, (s) => {
        const fence = fenceFor(s, step.lease, step.forge)!;
        const lease = pick(s.leases, step.lease)!;
        return s.store.queue.claimReady({
          sessionId: step.session ?? lease.sessionId,
          fence,
          owner: lease.owner,
          boundary: step.boundary,
          ttlMs: step.ttl,
          maxBatches: step.maxBatches,
        });
      });
      world.sides.forEach((s, i) => recordClaim(s, results[i]));
      return;
    }
    case 'claimByBatchIds': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      const results = await world.both(what, (s) => {
        const lease = pick(s.leases, step.lease)!;
        return s.store.queue.claimByBatchIds({
          sessionId: lease.sessionId,
          fence: fenceFor(s, step.lease, step.forge)!,
          owner: lease.owner,
          boundary: step.boundary,
          ttlMs: step.ttl,
          batchIds: step.batches.map((b) => pick(s.batches, b) ?? 'b_unknown'),
        });
      });
      world.sides.forEach((s, i) => recordClaim(s, results[i]));
      return;
    }
    case 'claimCommand': {
      if (world.sides.some((s) => !fenceFor(s, step.lease, step.forge))) return;
      const results = await world.both(what, (s) => {
        const lease = pick(s.leases, step.lease)!;
        return s.store.queue.claimLeadingSessionCommand({ sessionId: lease.sessionId, fence: fenceFor(s, step.lease, step.forge)!, owner: lease.owner, ttlMs: step.ttl });
      });
      world.sides.forEach((s, i) => recordClaim(s, results[i]));
      return;
    }
    case 'renewClaim': {
      if (world.sides.some((s) => s.claims.length === 0)) return;
      const results = await world.both(what, (s) => s.store.queue.renewClaim(pick(s.claims, step.claim)!, step.ttl));
      world.sides.forEach((s, i) => recordClaim(s, results[i]));
      return;
    }
    case 'abandonClaim': {
      if (world.sides.some((s) => s.claims.length === 0)) return;
      const failure = step.failure ? { reason: `failed ${step.failure.maxAttempts}`, maxAttempts: step.failure.maxAttempts } : undefined;
      await world.both(what, (s) => s.store.queue.abandonClaim(pick(s.claims, step.claim)!, failure));
      return;
    }
    case 'cancel':
      if (world.sides.some((s) => s.batches.length === 0)) return;
      await world.both(what, (s) => s.store.queue.cancel(step.session, pick(s.batches, step.batch)!));
      return;
    case 'deadLetter':
      if (world.sides.some((s) => s.batches.length === 0)) return;
      await world.both(what, (s) => s.store.queue.deadLetter(step.session, pick(s.batches, step.batch)!, `operator ${step.batch}`));
      return;
    case 'requeue':
      if (world.sides.some((s) => s.batches.length === 0)) return;
      await world.both(what, (s) => s.store.queue.requeueDeadLetter(pick(s.batches, step.batch)!));
      return;
    case 'commit': {
      const nodeSerial = world.counter++;
      await world.both(what, (s) => s.store.sessions.commit(commitOf(s, step, nodeSerial)));
      world.sides.forEach((s) => s.claims.splice(0, s.claims.length, ...s.claims.filter((c) => !step.claims.some((i) => pick(s.claims, i) === c))));
      return;
    }
  }
}

function commitOf(side: Side, step: Extract<Step, { op: 'commit' }>, nodeSerial: number): RuntimeCommit {
  const sessionId = step.session ?? (step.lease === null ? undefined : pick(side.leases, step.lease)?.sessionId) ?? 's1';
  const nodeId = step.stamp ? `n-${step.stamp.turnId}-v${step.stamp.variant}` : `n-u${nodeSerial}`;
  const claims = step.claims.map((c) => pick(side.claims, c)).filter((c): c is QueuedWorkClaim => c !== undefined);
  const fence = step.lease === null ? null : fenceFor(side, step.lease, step.forge);
  const commit: RuntimeCommit = {
    sessionId,
    ...(step.expectedHead !== null ? { expectedHeadRevision: step.expectedHead } : {}),
    state: {
      graph: { kind: 'append', nodes: [{ nodeId, parentNodeId: null, timestamp: 0, payload: { kind: 'event', event: { n: nodeId } } }], leafNodeId: nodeId },
      checkpoint: { turnIndex: step.stamp?.variant ?? 0 },
      agentFrames: [],
      currentAgentFrameId: null,
    },
    usageDeltas: [{ source: 'model', model: 'm', usage: { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0 } }],
    ...(fence ? { leaseFence: fence } : {}),
    ...(fence && step.release ? { releaseLease: fence } : {}),
    ...(claims.length > 0 ? { completedQueueClaims: claims.map(queueClaimCompletion) } : {}),
    ...(step.outbox
      ? {
          enqueueBatches: [
            {
              sessionId,
              deliveryPolicy: 'after_current_turn_commit',
              slotPolicy: 'exclusive',
              ...(step.outbox.sourceKey !== null ? { sourceKey: step.outbox.sourceKey } : {}),
              payloads: [{ type: 'turn_input', input: { items: [{ type: 'text', text: `outbox of ${nodeId}` }] } }],
            },
          ],
        }
      : {}),
  };
  if (!step.stamp) return commit;
  // The hash leaves out fence, CAS and release, and covers the completions: a retry with the same
  // content replays, a changed one conflicts.
  return { ...commit, turnStamp: { sessionId, turnId: step.stamp.turnId, hash: turnCommitHash(commit) } };
}
