/**
 * Test-building blocks shared by the conformance scenarios: owners, sample nodes and state
 * snapshots, "claim a lease for a test", "commit under a fresh lease", typed-error assertions.
 * The twins of the seed's `claim_session_execution_lease_for_test`, `commit_runtime_state_for_test`,
 * `sample_session_node`, `queued_batch_text` and `attachment_intent`.
 */
import { expect } from 'vitest';
import type { TurnlaneError } from '../../src/errors.js';
import type {
  AttachmentIntent,
  ClaimBoundary,
  LeaseOwner,
  OwnerLiveness,
  ProcessWakeDelivery,
  QueuedWorkBatch,
  QueuedWorkClaim,
  RuntimeCommit,
  RuntimeCommitResult,
  RuntimeStore,
  SessionLease,
  SessionNode,
  SessionStateSnapshot,
} from '../../src/store/contract.js';
import { leaseCompletion, leaseFence } from '../../src/store/drafts.js';
import { turnCommitHash } from '../../src/store/hash.js';

/** The lease and claim TTL the seed uses for "long enough for the whole test". */
export const TEST_TTL_MS = 60_000;

/** A lease owner whose incarnation is derived from its id unless given. */
export function testOwner(ownerId: string, incarnationId = `${ownerId}:incarnation-1`, liveness?: OwnerLiveness): LeaseOwner {
  return liveness === undefined ? { ownerId, incarnationId } : { ownerId, incarnationId, liveness };
}

/** Acquires a fresh session execution lease and fails the test if the session is busy. */
export async function claimLeaseForTest(
  store: RuntimeStore,
  sessionId: string,
  owner: LeaseOwner | string,
  ttlMs = TEST_TTL_MS,
): Promise<SessionLease> {
  const outcome = await store.leases.tryClaim(sessionId, typeof owner === 'string' ? testOwner(owner) : owner, ttlMs);
  if (outcome.kind !== 'acquired') throw new Error(`expected the lease of ${sessionId} to be free, it is held by ${outcome.holder.owner.ownerId}`);
  return outcome.lease;
}

export async function releaseLeaseForTest(store: RuntimeStore, lease: SessionLease): Promise<void> {
  await store.leases.release(leaseCompletion(lease));
}

/** Adds the lease's fence and, unless told otherwise, its release to a commit. */
export function underLease(commit: RuntimeCommit, lease: SessionLease, release = true): RuntimeCommit {
  return release
    ? { ...commit, leaseFence: leaseFence(lease), releaseLease: leaseCompletion(lease) }
    : { ...commit, leaseFence: leaseFence(lease) };
}

/** Claims a fresh lease for `ownerId`, commits under its fence and releases it in the same commit. */
export async function commitForTest(store: RuntimeStore, commit: RuntimeCommit, ownerId: string): Promise<RuntimeCommitResult> {
  const lease = await claimLeaseForTest(store, commit.sessionId, ownerId);
  return store.sessions.commit(underLease(commit, lease));
}

/** The seed's pattern: take a fresh lease, claim ready work under it, release the lease. */
export async function claimReadyForTest(
  store: RuntimeStore,
  sessionId: string,
  ownerId: string,
  options: { boundary?: ClaimBoundary; ttlMs?: number; maxBatches?: number } = {},
): Promise<QueuedWorkClaim | null> {
  const lease = await claimLeaseForTest(store, sessionId, ownerId);
  try {
    return await store.queue.claimReady({
      sessionId,
      fence: leaseFence(lease),
      owner: lease.owner,
      boundary: options.boundary ?? 'idle',
      ttlMs: options.ttlMs ?? TEST_TTL_MS,
      maxBatches: options.maxBatches ?? 10,
    });
  } finally {
    await releaseLeaseForTest(store, lease);
  }
}

/** A state snapshot that changes nothing in the graph: what a fresh session's first commit may carry. */
export function minimalState(overrides: Partial<SessionStateSnapshot> = {}): SessionStateSnapshot {
  return {
    graph: { kind: 'unchanged', leafNodeId: null },
    checkpoint: { turnIndex: 0 },
    agentFrames: [],
    currentAgentFrameId: null,
    ...overrides,
  };
}

/** A commit of `state` for `sessionId`, without fence, stamp or release. */
export function stateCommit(sessionId: string, state: SessionStateSnapshot = minimalState(), extra: Partial<RuntimeCommit> = {}): RuntimeCommit {
  return { sessionId, state, ...extra };
}

/** Adds a turn stamp whose hash is the commit's own `turnCommitHash`. */
export function stamped(commit: RuntimeCommit, turnId: string): RuntimeCommit {
  return { ...commit, turnStamp: { sessionId: commit.sessionId, turnId, hash: turnCommitHash(commit) } };
}

export function sampleNode(nodeId: string, parentNodeId: string | null): SessionNode {
  return {
    nodeId,
    parentNodeId,
    causedBy: null,
    agentFrameId: null,
    timestamp: 0,
    payload: { kind: 'event', event: { type: 'conformance', node: nodeId } },
  };
}

/** A manifest intent for `attachmentId` in `sessionId`, recorded at store time 100 as in the seed. */
export function attachmentIntent(attachmentId: string, sessionId = 'root', intentAtMs = 100): AttachmentIntent {
  return { sessionId, attachmentId, canonicalUri: `sha256:${attachmentId}`, intentAtMs };
}

export function sampleWake(overrides: Partial<ProcessWakeDelivery> = {}): ProcessWakeDelivery {
  return {
    wakeId: 'wake-1',
    targetSessionId: 'root',
    targetScopeId: 'session:root',
    processId: 'process-1',
    sequence: 7,
    eventType: 'process.wake',
    dedupeKey: 'wake-dedupe-1',
    input: 'wake payload',
    createdAtMs: 1,
    ...overrides,
  };
}

/** The text of a batch's first turn-input item, or null for other payloads. */
export function batchText(batch: QueuedWorkBatch): string | null {
  const payload = batch.items[0]?.payload;
  if (payload?.type !== 'turn_input') return null;
  const item = payload.input.items[0];
  return item?.type === 'text' ? item.text : null;
}

export function batchIds(batches: readonly QueuedWorkBatch[]): string[] {
  return batches.map((batch) => batch.batchId);
}

/** Bytes as a plain number array, so a Buffer and a Uint8Array with the same content compare equal. */
export function bytesOf(value: Uint8Array | null | undefined): number[] | null {
  if (value === null || value === undefined) return null;
  expect(value).toBeInstanceOf(Uint8Array);
  return Array.from(value);
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Awaits a rejection and checks it by class and by stable code, never by message. */
export async function expectTypedError<T extends TurnlaneError>(
  operation: Promise<unknown>,
  errorClass: new (...args: never[]) => T,
  code: T['code'],
): Promise<T> {
  let caught: unknown;
  try {
    await operation;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${errorClass.name}`).toBeInstanceOf(errorClass);
  expect((caught as T).code).toBe(code);
  return caught as T;
}

/** Asserts every value is strictly greater than the one before it. */
export function expectStrictlyIncreasing(values: readonly number[]): void {
  for (let i = 1; i < values.length; i++) {
    expect(values[i], `value ${i} of ${JSON.stringify(values)}`).toBeGreaterThan(values[i - 1]!);
  }
}
