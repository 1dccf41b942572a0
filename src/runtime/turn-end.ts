/**
 * How a turn ends: its commit lands (or is refused and its claims given up), or its session
 * ended under it. Session commands, which run no handler, end here directly (src/runtime/drain.ts).
 * Abandoning a turn's claims is the Turn's own operation (src/runtime/turn-state.ts).
 */
import type { CommitNextClaim, PersistedSessionRead, QueuedWorkClaim, RuntimeCommit } from '../store/contract.js';
import type { DrainSettings } from './drain-settings.js';
import type { GateExit } from './isolation.js';
import { HeadRevisionConflictError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../errors.js';
import { buildCommandCommit, commitWithRetry, sessionAfter } from './commit.js';
import { cancelEndedSessionWork, isSessionEnded } from './session-policy.js';
import type { Turn, TurnRun } from './turn-state.js';

export type { TurnRun } from './turn-state.js';

/** A session command at the head: no handler runs; its commit applies the command. */
export async function runCommand(turn: Turn, session: PersistedSessionRead | null): Promise<TurnRun> {
  const claim = turn.first;
  const payload = claim.batches[0]?.items[0]?.payload;
  if (payload?.type !== 'session_command') throw new Error('claimLeadingSessionCommand returned a batch that is not a session command');
  const commit = buildCommandCommit(claim.sessionId, turn.turnId, turn.fence(), session, claim, payload.command);
  turn.addClaim(claim);
  return landCommit(turn, session, commit, [claim]);
}

/**
 * Lands the turn's commit (retried with its stamp while the outcome is unknown): the one place
 * the drain sends a turn commit. When another turn may follow and a shared place in the turn gate
 * is free now, the commit also claims the next turn in the same statement (TurnRun.claimed, with
 * that place in `aheadTicket`); otherwise the drain claims it itself (src/runtime/drain.ts). A
 * refused commit (lease or claim lost, head moved) gives the claims up and ends the drain; the
 * turn runs again.
 */
export function landCommit(
  turn: Turn,
  session: PersistedSessionRead | null,
  commit: RuntimeCommit,
  claims: QueuedWorkClaim[],
  onCommitted?: (ids: string[]) => void,
): Promise<TurnRun> {
  const { settings, turnId } = turn;
  return turn.withRenewalsHeld(async () => {
    const ahead = placeForNextTurn(turn);
    const started = performance.now();
    try {
      if (ahead) settings.onClaim?.();
      const { result, next } = await commitWithRetry(settings.store, commit, ahead ? nextClaimRequest(settings) : undefined);
      settings.events.emit('turn_committed', {
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
      turn.clearClaims();
      const run: TurnRun = { outcome: 'committed', next: sessionAfter(session, commit, result), completed: claims.flatMap((c) => c.batches.map((b) => b.batchId)) };
      if (next && ahead) {
        run.claimed = next;
        if (ahead.ticket) run.aheadTicket = ahead.ticket;
      } else ahead?.ticket?.();
      return run;
    } catch (err) {
      ahead?.ticket?.();
      if (err instanceof SessionLeaseExpiredError || err instanceof QueuedWorkClaimExpiredError || err instanceof HeadRevisionConflictError) {
        settings.events.emit('commit_refused', { sessionId: commit.sessionId, turnId, code: err.code });
        settings.log.warn({ err, sessionId: commit.sessionId, turnId }, 'turn commit refused; the turn will run again under a live lease');
        await turn.abandonAll();
        return { outcome: 'lost', next: session };
      }
      if (isSessionEnded(err)) return endTurnOfEndedSession(turn, session, err);
      throw err;
    }
  });
}

/**
 * The next turn's place, taken before its claim as the drain takes it (no claim while a suspect
 * runs or waits): `{ ticket }` when the commit may claim ahead (ticket undefined without a gate),
 * null when it may not (no turn may follow, the turn is stopping, or the gate is not free now).
 */
function placeForNextTurn(turn: Turn): { ticket: GateExit | undefined } | null {
  if (!turn.mayClaimAhead || turn.signal.aborted) return null;
  const gate = turn.settings.isolation;
  if (!gate) return { ticket: undefined };
  const ticket = gate.tryEnter('shared');
  return ticket ? { ticket } : null;
}

/** The drain's claimNext, as the commit takes it: maxAttempts retires batches whose turns kept dying with their worker. */
export function nextClaimRequest(settings: DrainSettings): CommitNextClaim {
  return { owner: settings.owner, ttlMs: settings.leaseTtlMs, maxBatches: settings.maxBatchesPerTurn, maxAttempts: settings.maxAttempts, releaseLeaseWhenEmpty: true };
}

/** The session was closed or expired under the turn: its claimed work is cancelled, nothing is committed. */
export async function endTurnOfEndedSession(turn: Turn, session: PersistedSessionRead | null, err: unknown): Promise<TurnRun> {
  const { settings } = turn;
  const cancelled = await cancelEndedSessionWork(settings.store, turn.heldClaims(), settings.log);
  turn.clearClaims();
  settings.log.info({ err, sessionId: turn.sessionId, cancelled }, 'the session ended under a turn; its claimed work is cancelled');
  return { outcome: 'stopped', next: session };
}
