/**
 * The drain: under one session lease, run up to `maxTurnsPerLease` turns, each ending in one
 * turn commit, then release the lease. Session commands at the head go first; a turn whose
 * handler throws counts a failed attempt on its batches (dead-lettered at `maxAttempts`).
 */
import type { Logger } from 'pino';
import type { AttachmentStore, ClaimNextResult, LeaseOwner, PersistedSessionRead, QueuedWorkClaim, RuntimeStore, SessionLease, TokenLedgerEntry } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import { SessionScopedAttachmentStore } from '../store/attachments/index.js';
import { HeadRevisionConflictError, QueuedWorkClaimExpiredError, SessionLeaseExpiredError, StoreUnavailableError } from '../errors.js';
import { Heartbeat } from './heartbeat.js';
import { buildCommandCommit, buildTurnCommit, commitWithRetry, sessionAfter } from './commit.js';
import { TurnAbortedError, inputViews, turnIdFor, type TurnContext, type TurnHandler, type TurnResult } from './turn.js';
import type { RuntimeEvents } from './events.js';
import { cancelEndedSessionWork, isSessionEnded, sessionHasEnded } from './session-policy.js';
import { isSuspect, type GateExit, type TurnGate } from './isolation.js';
import { admitToGate } from './gate-admission.js';
import { SandboxStartError } from './sandbox/pool.js';

export interface DrainOptions {
  store: RuntimeStore;
  handler: TurnHandler;
  owner: LeaseOwner;
  lease: SessionLease;
  leaseTtlMs: number;
  maxTurnsPerLease: number;
  maxBatchesPerTurn: number;
  maxAttempts: number;
  /** Runs suspect turns alone in this process (src/runtime/isolation.ts); absent: no turn waits for another. */
  isolation?: TurnGate;
  /**
   * Runs turns in sandbox processes (src/runtime/sandbox/pool.ts): suspect turns only, or all of
   * them. A sandboxed turn that ends its process fails alone, so it needs no place in the gate.
   */
  sandbox?: { handler: TurnHandler; turns: 'suspects' | 'all' };
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
  /** Batches this drain's commits completed: a job whose batch is here is done without asking Postgres. */
  completedBatchIds: Set<string>;
}

/**
 * Runs the drain and always ends with the lease released (a no-op if it was lost or taken over).
 * Each turn starts with one claimNext (the head command, else the ready group); the claim that
 * finds nothing releases the lease in the same statement, so an idle session costs one round trip
 * to leave. The session is loaded alongside the first claim.
 */
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
  const report: DrainReport = { turns: 0, committed: 0, failed: 0, lost: false, completedBatchIds: new Set() };
  let released = false;
  try {
    let loading: Promise<PersistedSessionRead | null> | null = store.sessions.load(sessionId, { kind: 'active_path' });
    let session: PersistedSessionRead | null = null;
    while (report.turns < options.maxTurnsPerLease && !leaseLost.signal.aborted && !options.shutdown.aborted) {
      // A shared place in the turn gate before the claim: no claim is taken while a suspect runs
      // (its crash would charge it), and the place goes to the claimed turn (src/runtime/isolation.ts).
      const ticket = await enterShared(options, leaseLost.signal);
      if (ticket === null) break;
      // Renewals wait while a claim may release the lease: a renewal after it would read as a lost lease.
      await heartbeat.pause();
      let claimed: ClaimNextResult;
      try {
        // maxAttempts also retires batches whose turns kept dying with their worker (counted at takeover).
        const claiming = store.queue.claimNext({
          sessionId,
          fence: leaseFence(heartbeat.currentLease()),
          owner: options.owner,
          ttlMs: options.leaseTtlMs,
          maxBatches: options.maxBatchesPerTurn,
          maxAttempts: options.maxAttempts,
          releaseLeaseWhenEmpty: true,
        });
        if (loading) [session, claimed] = await Promise.all([loading, claiming]);
        else claimed = await claiming;
        loading = null;
      } catch (err) {
        ticket?.();
        throw err;
      } finally {
        heartbeat.resume();
      }
      released = claimed.leaseReleased;
      const claim = claimed.claim;
      const isCommand = claim?.batches[0]?.items[0]?.payload.type === 'session_command';
      // A session command runs no handler: it needs no place in the gate.
      if (!claim || isCommand) ticket?.();
      if (!claim) break;
      report.turns++;
      const run: TurnRun = await (isCommand ? runCommand(options, heartbeat, session, claim) : runTurn(options, heartbeat, leaseLost.signal, session, claim, ticket));
      const { outcome, completed } = run;
      session = run.next;
      for (const batchId of completed ?? []) report.completedBatchIds.add(batchId);
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
    if (!released) {
      await store.leases.release(leaseFence(heartbeat.currentLease())).catch((err) => options.log.warn({ err, sessionId }, 'lease release failed; it will expire'));
    }
  }
  return report;
}

interface TurnRun {
  outcome: TurnOutcome;
  next: PersistedSessionRead | null;
  /** The batches a committed turn completed. */
  completed?: string[];
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

/**
 * A shared place in the turn gate, waiting while a suspect runs or waits; undefined without a
 * gate, null when the lease was lost or the worker shuts down while waiting.
 */
async function enterShared(options: DrainOptions, leaseLost: AbortSignal): Promise<GateExit | undefined | null> {
  if (!options.isolation) return undefined;
  try {
    return await options.isolation.enter('shared', AbortSignal.any([leaseLost, options.shutdown]));
  } catch {
    return null;
  }
}

async function runTurn(
  options: DrainOptions,
  heartbeat: Heartbeat,
  leaseLost: AbortSignal,
  session: PersistedSessionRead | null,
  claim: QueuedWorkClaim,
  ticket: GateExit | undefined,
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

  const sandboxed = options.sandbox !== undefined && (options.sandbox.turns === 'all' || isSuspect(claim));
  if (sandboxed && options.sandbox?.turns === 'suspects') log.info({ batches: claim.batches.map((b) => ({ batchId: b.batchId, attempts: b.attempts })) }, 'suspect turn: its last attempt died with its worker, so it runs in a sandbox process');
  const handler = sandboxed ? options.sandbox!.handler : options.handler;

  let result: TurnResult;
  try {
    // A suspect turn runs alone; a turn that has to wait lets its claim go meanwhile (src/runtime/isolation.ts).
    // A wait that ends without admission (shutdown, lease lost, batches gone) counts no attempt.
    const leaveGate =
      options.isolation && !sandboxed
        ? await admitToGate(options, options.isolation, heartbeat, claim, AbortSignal.any([signal, options.hardStop]), ticket, log).catch((err: unknown) => {
            throw leaseLost.aborted ? err : HARD_STOP;
          })
        : ticket;
    try {
      result = await raceHardStop(handler(context), options.hardStop);
    } finally {
      leaveGate?.();
    }
  } catch (err) {
    // The store being out of reach (a checkpoint, a tool-policy call) or a sandbox process that
    // would not start is not the input's fault: the turn stops like a lost lease, and no attempt
    // is counted against its batches.
    const notTheInput = err instanceof StoreUnavailableError || err instanceof SandboxStartError;
    if (err === HARD_STOP || leaseLost.aborted || notTheInput) {
      await abandonAll(options, heartbeat);
      if (notTheInput) log.warn({ err }, 'the turn could not run for a reason that is not its input; it runs again later');
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
