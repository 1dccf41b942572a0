/**
 * One turn of the drain: the turn context the handler sees, where the handler runs (in this
 * process, or in a sandbox process: src/runtime/sandbox/pool.ts), the turn gate for suspects
 * (src/runtime/isolation.ts), and how the turn ends when the handler fails.
 */
import type { PersistedSessionRead, TokenLedgerEntry } from '../store/contract.js';
import { SessionScopedAttachmentStore } from '../store/attachments/index.js';
import { processExitedReason } from '../store/reasons.js';
import { StoreUnavailableError } from '../errors.js';
import { buildTurnCommit } from './commit.js';
import { TurnAbortedError, inputViews, type TurnContext, type TurnResult } from './turn.js';
import { isSessionEnded, sessionHasEnded } from './session-policy.js';
import { isSuspect, type GateExit } from './isolation.js';
import { admitToGate } from './gate-admission.js';
import { SandboxStartError, TurnProcessExitedError } from './sandbox/pool.js';
import { endTurnOfEndedSession, landCommit } from './turn-end.js';
import { attemptsAllowed } from './turn-failure.js';
import type { Turn, TurnRun } from './turn-state.js';

export async function runTurn(turn: Turn, session: PersistedSessionRead | null, ticket: GateExit | undefined): Promise<TurnRun> {
  // An alone turn leaves the gate only once its claim is gone (committed or abandoned): its claim
  // is marked alone, and a crash of another turn meanwhile would be charged to it.
  const held: { exit?: GateExit } = {};
  try {
    return await runTurnInGate(turn, session, ticket, held);
  } finally {
    held.exit?.();
  }
}

async function runTurnInGate(turn: Turn, session: PersistedSessionRead | null, ticket: GateExit | undefined, held: { exit?: GateExit }): Promise<TurnRun> {
  const { settings, sessionId, turnId, signal, log, leaseLost, batchIds } = turn;
  const { store } = settings;
  const claim = turn.first;
  turn.addClaim(claim);
  const usage: TokenLedgerEntry[] = [];
  const scoped = new SessionScopedAttachmentStore(settings.attachments, store.attachments, sessionId);
  settings.events.emit('turn_started', { sessionId, turnId, claim });

  const context: TurnContext = {
    sessionId,
    turnId,
    fencingToken: turn.fencingToken,
    inputs: inputViews(claim, 'idle'),
    session,
    signal,
    log,
    async checkpoint() {
      if (signal.aborted) throw new TurnAbortedError((signal.reason as 'lease_lost' | 'shutdown' | 'session_closed') ?? 'shutdown');
      if (await sessionHasEnded(store, sessionId)) {
        turn.endSession();
        throw new TurnAbortedError('session_closed');
      }
      const extra = await store.queue.claimReady({
        sessionId,
        fence: turn.fence(),
        owner: settings.owner,
        boundary: 'active_turn_checkpoint',
        ttlMs: settings.leaseTtlMs,
        maxBatches: settings.maxBatchesPerTurn,
      });
      if (!extra) return [];
      turn.addClaim(extra);
      settings.events.emit('checkpoint_delivery', { sessionId, turnId, claim: extra });
      return inputViews(extra, 'active_turn_checkpoint');
    },
    tools: { use: (names, declared) => settings.useTools(sessionId, names, { ...(settings.agentId ? { agentId: settings.agentId } : {}), ...(declared?.sensitivity ? { sensitivity: declared.sensitivity } : {}) }) },
    usage: { record: (entry) => void usage.push(entry) },
    attachments: { put: (bytes, meta) => scoped.put(bytes, meta), get: (id) => scoped.get(id) },
  };

  const sandboxed = settings.sandbox !== undefined && (settings.sandbox.turns === 'all' || isSuspect(claim));
  if (sandboxed && settings.sandbox?.turns === 'suspects') log.info({ batches: claim.batches.map((b) => ({ batchId: b.batchId, attempts: b.attempts })) }, 'suspect turn: its last attempt ended its process, so it runs in a sandbox process');
  const handler = sandboxed ? settings.sandbox!.handler : settings.handler;

  let result: TurnResult;
  try {
    // A suspect turn runs alone; a turn that has to wait lets its claim go meanwhile (src/runtime/isolation.ts).
    // Sandboxed, no turn runs alone: it cannot end its worker, and a worker's death is charged only
    // to a turn that ran alone (markClaimAlone), so it is never charged to a sandboxed one.
    // A wait that ends without admission (shutdown, lease lost, batches gone) counts no attempt.
    const alone = !sandboxed && isSuspect(claim);
    if (alone && !settings.isolation) await turn.markClaimsAlone();
    const leaveGate = settings.isolation
      ? await admitToGate(turn, settings.isolation, alone ? 'alone' : 'shared', AbortSignal.any([signal, settings.hardStop]), ticket).catch((err: unknown) => {
          throw leaseLost.aborted ? err : HARD_STOP;
        })
      : ticket;
    try {
      result = await raceHardStop(handler(context), settings.hardStop);
    } finally {
      if (alone) held.exit = leaveGate;
      else leaveGate?.();
    }
  } catch (err) {
    // The store being out of reach (a checkpoint, a tool-policy call) or a sandbox process that
    // would not start is not the input's fault: the turn stops like a lost lease, and no attempt
    // is counted against its batches.
    const notTheInput = err instanceof StoreUnavailableError || err instanceof SandboxStartError;
    if (err === HARD_STOP || leaseLost.aborted || notTheInput) {
      await turn.abandonAll();
      if (notTheInput) log.warn({ err }, 'the turn could not run for a reason that is not its input; it runs again later');
      return { outcome: err === HARD_STOP ? 'stopped' : 'lost', next: session };
    }
    if (isSessionEnded(err)) return endTurnOfEndedSession(turn, session, err);
    // A sandbox exit is recorded with the reason text the suspect rule reads (src/store/reasons.ts).
    const reason = err instanceof TurnProcessExitedError ? processExitedReason(err.message) : errorText(err);
    // A failure no retry can cure (NonRetryableError, a spent budget…) dead-letters at once.
    const deadLetters = await turn.abandonAll({ reason, maxAttempts: attemptsAllowed(err, settings.maxAttempts) });
    log.warn({ err, deadLettered: deadLetters }, 'turn handler failed; its batches count a failed attempt');
    settings.events.emit('turn_failed', { sessionId, turnId, batchIds, error: reason, deadLettered: deadLetters });
    return { outcome: 'failed', next: session, failure: { batchIds, reason } };
  }
  if (leaseLost.aborted) {
    await turn.abandonAll();
    return { outcome: 'lost', next: session };
  }
  const commit = buildTurnCommit({
    sessionId,
    turnId,
    fence: turn.fence(),
    session,
    claims: turn.heldClaims(),
    result,
    usage,
    committedAttachmentIds: scoped.pendingManifestCommitIds(),
    release: false,
  });
  return landCommit(turn, session, commit, turn.heldClaims(), (ids) => scoped.markManifestCommitted(ids));
}

const HARD_STOP = Symbol('hard stop');

function raceHardStop<T>(work: Promise<T>, hardStop: AbortSignal): Promise<T> {
  if (hardStop.aborted) return Promise.reject(HARD_STOP);
  return new Promise<T>((resolve, reject) => {
    const onStop = () => reject(HARD_STOP);
    hardStop.addEventListener('abort', onStop, { once: true });
    work.then(resolve, reject).finally(() => hardStop.removeEventListener('abort', onStop));
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 2000);
  return String(err).slice(0, 2000);
}
