/**
 * The drain: under one session lease, run up to `maxTurnsPerLease` turns, each ending in one
 * turn commit, then release the lease. Session commands at the head go first; a turn whose
 * handler throws counts a failed attempt on its batches (dead-lettered at `maxAttempts`).
 */
import type { Logger } from 'pino';
import type { AttachmentStore, LeaseOwner, PersistedSessionRead, QueuedWorkClaim, RuntimeStore, SessionLease, TokenLedgerEntry } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import { SessionScopedAttachmentStore } from '../store/attachments/index.js';
import { HeadRevisionConflictError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError } from '../errors.js';
import { Heartbeat } from './heartbeat.js';
import { buildCommandCommit, buildTurnCommit, commitWithRetry, sessionAfter } from './commit.js';
import { TurnAbortedError, inputViews, turnIdFor, type TurnContext, type TurnHandler, type TurnResult } from './turn.js';
import type { RuntimeEvents } from './events.js';
import { cancelEndedSessionWork, isSessionEnded, sessionHasEnded } from './session-policy.js';

export interface DrainOptions {
  store: RuntimeStore;
  handler: TurnHandler;
  owner: LeaseOwner;
  lease: SessionLease;
  leaseTtlMs: number;
  maxTurnsPerLease: number;
  maxBatchesPerTurn: number;
  maxAttempts: number;
  attachments: AttachmentStore;
  /** Fires when the worker shuts down: turns are told through `turn.signal`. */
  shutdown: AbortSignal;
  /** Fires after the shutdown grace period: unfinished turns are abandoned. */
  hardStop: AbortSignal;
  /** Session policy hook for `turn.tools.use`. */
  useTools(sessionId: string, names: string[]): Promise<void>;
  events: RuntimeEvents;
  log: Logger;
}

export type TurnOutcome = 'committed' | 'failed' | 'lost' | 'stopped';

export interface DrainReport {
  turns: number;
  committed: number;
  failed: number;
  /** The lease or a claim was lost, or a commit was refused: the drain stopped early. */
  lost: boolean;
}

/** Runs the drain and always ends by releasing the lease (a no-op if it was lost or taken over). */
export async function drainSession(options: DrainOptions): Promise<DrainReport> {
  const { store, lease } = options;
  const sessionId = lease.sessionId;
  const leaseLost = new AbortController();
  const heartbeat = new Heartbeat({
    store,
    lease,
    ttlMs: options.leaseTtlMs,
    onLost: (err) => {
      options.log.warn({ err, sessionId }, 'lease or claim renewal failed; stopping this session');
      leaseLost.abort('lease_lost');
    },
  });
  heartbeat.start();
  const report: DrainReport = { turns: 0, committed: 0, failed: 0, lost: false };
  try {
    let session = await store.sessions.load(sessionId, { kind: 'active_path' });
    while (report.turns < options.maxTurnsPerLease && !leaseLost.signal.aborted && !options.shutdown.aborted) {
      const fence = leaseFence(heartbeat.currentLease());
      const ttlMs = options.leaseTtlMs;
      // Turn work first: claimReady is null whenever the head is a session command, so asking for
      // the command only then keeps command-first order and saves one claim transaction (3 round
      // trips) on every turn: 1.1 → 0.1 command claims per turn in bench/profile.ts.
      // maxAttempts also retires batches whose turns kept dying with their worker (counted at takeover).
      const ready = await store.queue.claimReady({
        sessionId,
        fence,
        owner: options.owner,
        boundary: 'idle',
        ttlMs,
        maxBatches: options.maxBatchesPerTurn,
        maxAttempts: options.maxAttempts,
      });
      const command = ready ? null : await store.queue.claimLeadingSessionCommand({ sessionId, fence, owner: options.owner, ttlMs });
      const claim = ready ?? command;
      if (!claim) break;
      report.turns++;
      const run = command ? runCommand(options, heartbeat, session, claim) : runTurn(options, heartbeat, leaseLost.signal, session, claim);
      const { outcome, next } = await run;
      session = next;
      if (outcome === 'committed') report.committed++;
      else if (outcome === 'failed') report.failed++;
      else {
        report.lost = outcome === 'lost';
        break;
      }
      // A failed turn releases the session so the batch's retry backs off instead of spinning.
      if (outcome === 'failed') break;
    }
  } finally {
    await heartbeat.stop();
    await store.leases.release(leaseFence(heartbeat.currentLease())).catch((err) => options.log.warn({ err, sessionId }, 'lease release failed; it will expire'));
  }
  return report;
}

interface TurnRun {
  outcome: TurnOutcome;
  next: PersistedSessionRead | null;
}

async function runCommand(options: DrainOptions, heartbeat: Heartbeat, session: PersistedSessionRead | null, claim: QueuedWorkClaim): Promise<TurnRun> {
  const payload = claim.batches[0]?.items[0]?.payload;
  if (payload?.type !== 'session_command') throw new Error('claimLeadingSessionCommand returned a batch that is not a session command');
  const turnId = turnIdFor(claim);
  const commit = buildCommandCommit(claim.sessionId, turnId, leaseFence(heartbeat.currentLease()), session, claim, payload.command);
  heartbeat.addClaim(claim);
  return landCommit(options, heartbeat, session, commit, [claim], turnId);
}

async function landCommit(
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
    return { outcome: 'committed', next: sessionAfter(session, commit, result) };
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

async function runTurn(
  options: DrainOptions,
  heartbeat: Heartbeat,
  leaseLost: AbortSignal,
  session: PersistedSessionRead | null,
  claim: QueuedWorkClaim,
): Promise<TurnRun> {
  const { store } = options;
  const sessionId = claim.sessionId;
  const turnId = turnIdFor(claim);
  const lease = heartbeat.currentLease();
  heartbeat.addClaim(claim);
  const sessionEnded = new AbortController();
  const signal = AbortSignal.any([leaseLost, options.shutdown, sessionEnded.signal]);
  const usage: TokenLedgerEntry[] = [];
  const scoped = new SessionScopedAttachmentStore(options.attachments, store.attachments, sessionId);
  const batchIds = claim.batches.map((b) => b.batchId);
  const log = options.log.child({ sessionId, turnId, fencingToken: lease.fencingToken, batchIds });
  options.events.emit('turn_started', { sessionId, turnId, claim });

  const context: TurnContext = {
    sessionId,
    turnId,
    fencingToken: lease.fencingToken,
    inputs: inputViews(claim, 'idle'),
    session,
    signal,
    log,
    async checkpoint() {
      if (signal.aborted) throw new TurnAbortedError((signal.reason as 'lease_lost' | 'shutdown' | 'session_closed') ?? 'shutdown');
      if (await sessionHasEnded(store, sessionId)) {
        sessionEnded.abort('session_closed');
        throw new TurnAbortedError('session_closed');
      }
      const extra = await store.queue.claimReady({
        sessionId,
        fence: leaseFence(heartbeat.currentLease()),
        owner: options.owner,
        boundary: 'active_turn_checkpoint',
        ttlMs: options.leaseTtlMs,
        maxBatches: options.maxBatchesPerTurn,
      });
      if (!extra) return [];
      heartbeat.addClaim(extra);
      options.events.emit('checkpoint_delivery', { sessionId, turnId, claim: extra });
      return inputViews(extra, 'active_turn_checkpoint');
    },
    tools: { use: (names) => options.useTools(sessionId, names) },
    usage: { record: (entry) => void usage.push(entry) },
    attachments: { put: (bytes, meta) => scoped.put(bytes, meta), get: (id) => scoped.get(id) },
  };

  let result: TurnResult;
  try {
    result = await raceHardStop(options.handler(context), options.hardStop);
  } catch (err) {
    if (err === HARD_STOP || leaseLost.aborted) {
      await abandonAll(options, heartbeat);
      return { outcome: err === HARD_STOP ? 'stopped' : 'lost', next: session };
    }
    if (isSessionEnded(err)) return endTurnOfEndedSession(options, heartbeat, session, err);
    const reason = errorText(err);
    const deadLetters = await abandonAll(options, heartbeat, { reason, maxAttempts: options.maxAttempts });
    log.warn({ err, deadLettered: deadLetters }, 'turn handler failed; its batches count a failed attempt');
    options.events.emit('turn_failed', { sessionId, turnId, batchIds, error: reason, deadLettered: deadLetters });
    return { outcome: 'failed', next: session };
  }
  if (leaseLost.aborted) {
    await abandonAll(options, heartbeat);
    return { outcome: 'lost', next: session };
  }
  const commit = buildTurnCommit({
    sessionId,
    turnId,
    fence: leaseFence(heartbeat.currentLease()),
    session,
    claims: heartbeat.currentClaims(),
    result,
    usage,
    committedAttachmentIds: scoped.pendingManifestCommitIds(),
    release: false,
  });
  return landCommit(options, heartbeat, session, commit, heartbeat.currentClaims(), turnId, (ids) => scoped.markManifestCommitted(ids));
}

/** The session was closed or expired under the turn: its claimed work is cancelled, nothing is committed. */
async function endTurnOfEndedSession(options: DrainOptions, heartbeat: Heartbeat, session: PersistedSessionRead | null, err: unknown): Promise<TurnRun> {
  const cancelled = await cancelEndedSessionWork(options.store, heartbeat.currentClaims(), options.log);
  heartbeat.clearClaims();
  options.log.info({ err, sessionId: options.lease.sessionId, cancelled }, 'the session ended under a turn; its claimed work is cancelled');
  return { outcome: 'stopped', next: session };
}

/** Abandons every claim of the turn; with a failure, counts an attempt and returns the dead-lettered batch ids. */
async function abandonAll(options: DrainOptions, heartbeat: Heartbeat, failure?: { reason: string; maxAttempts: number }): Promise<string[]> {
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
