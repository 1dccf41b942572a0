/**
 * How a turn ends: its commit lands (or is refused and its claims given up), its claims are
 * abandoned with or without a failed attempt, or its session ended under it. Session commands,
 * which run no handler, end here directly (src/runtime/drain.ts).
 */
import type { PersistedSessionRead, QueuedWorkClaim } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import { HeadRevisionConflictError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../errors.js';
import type { Heartbeat } from './heartbeat.js';
import { buildCommandCommit, commitWithRetry, sessionAfter } from './commit.js';
import { turnIdFor } from './turn.js';
import { cancelEndedSessionWork, isSessionEnded } from './session-policy.js';
import type { DrainOptions, TurnOutcome } from './drain.js';

export interface TurnRun {
  outcome: TurnOutcome;
  next: PersistedSessionRead | null;
  /** The batches a committed turn completed. */
  completed?: string[];
  /** A failed turn's batches and the reason recorded on them. */
  failure?: { batchIds: string[]; reason: string };
}

/** A session command at the head: no handler runs; its commit applies the command. */
export async function runCommand(options: DrainOptions, heartbeat: Heartbeat, session: PersistedSessionRead | null, claim: QueuedWorkClaim): Promise<TurnRun> {
  const payload = claim.batches[0]?.items[0]?.payload;
  if (payload?.type !== 'session_command') throw new Error('claimLeadingSessionCommand returned a batch that is not a session command');
  const turnId = turnIdFor(claim);
  const commit = buildCommandCommit(claim.sessionId, turnId, leaseFence(heartbeat.currentLease()), session, claim, payload.command);
  heartbeat.addClaim(claim);
  return landCommit(options, heartbeat, session, commit, [claim], turnId);
}

/**
 * Lands the turn's commit (retried with its stamp while the outcome is unknown). A refused commit
 * (lease or claim lost, head moved) gives the claims up and ends the drain; the turn runs again.
 */
export async function landCommit(
  options: DrainOptions,
  heartbeat: Heartbeat,
  session: PersistedSessionRead | null,
  commit: Parameters<typeof commitWithRetry>[1],
  claims: QueuedWorkClaim[],
  turnId: string,
  onCommitted?: (ids: string[]) => void,
): Promise<TurnRun> {
  await heartbeat.pause();
  const started = performance.now();
  try {
    const result = await commitWithRetry(options.store, commit);
    options.events.emit('turn_committed', {
      sessionId: commit.sessionId,
      turnId,
      headRevision: result.headRevision,
      fencingToken: commit.leaseFence?.fencingToken ?? 0,
      batchIds: claims.flatMap((c) => c.batches.map((b) => b.batchId)),
      commitMs: performance.now() - started,
      enqueuedBatches: result.enqueuedBatches,
      appendedNodes: commit.state.graph.kind === 'unchanged' ? [] : commit.state.graph.nodes,
    });
    onCommitted?.(commit.committedAttachmentIds ?? []);
    heartbeat.clearClaims();
    return { outcome: 'committed', next: sessionAfter(session, commit, result), completed: claims.flatMap((c) => c.batches.map((b) => b.batchId)) };
  } catch (err) {
    if (err instanceof SessionLeaseExpiredError || err instanceof QueuedWorkClaimExpiredError || err instanceof HeadRevisionConflictError) {
      options.events.emit('commit_refused', { sessionId: commit.sessionId, turnId, code: err.code });
      options.log.warn({ err, sessionId: commit.sessionId, turnId }, 'turn commit refused; the turn will run again under a live lease');
      await abandonAll(options, heartbeat);
      return { outcome: 'lost', next: session };
    }
    if (isSessionEnded(err)) return endTurnOfEndedSession(options, heartbeat, session, err);
    throw err;
  } finally {
    heartbeat.resume();
  }
}

/** The session was closed or expired under the turn: its claimed work is cancelled, nothing is committed. */
export async function endTurnOfEndedSession(options: DrainOptions, heartbeat: Heartbeat, session: PersistedSessionRead | null, err: unknown): Promise<TurnRun> {
  const cancelled = await cancelEndedSessionWork(options.store, heartbeat.currentClaims(), options.log);
  heartbeat.clearClaims();
  options.log.info({ err, sessionId: options.lease.sessionId, cancelled }, 'the session ended under a turn; its claimed work is cancelled');
  return { outcome: 'stopped', next: session };
}

/** Abandons every claim of the turn; with a failure, counts an attempt and returns the dead-lettered batch ids. */
export async function abandonAll(options: DrainOptions, heartbeat: Heartbeat, failure?: { reason: string; maxAttempts: number }): Promise<string[]> {
  const deadLettered: string[] = [];
  for (const claim of heartbeat.currentClaims()) {
    try {
      const letters = await options.store.queue.abandonClaim(claim, failure);
      deadLettered.push(...letters.map((l) => l.batchId));
    } catch (err) {
      options.log.warn({ err, sessionId: claim.sessionId, claimId: claim.claimId }, 'abandoning a claim failed; it will expire');
    }
  }
  heartbeat.clearClaims();
  return deadLettered;
}
