/**
 * The drain: under one session lease, run up to `maxTurnsPerLease` turns, each ending in one
 * turn commit, then release the lease. Session commands at the head go first; a turn whose
 * handler throws counts a failed attempt on its batches (dead-lettered at `maxAttempts`).
 */
import type { ClaimNextResult, PersistedSessionRead, SessionLease } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import type { DrainSettings } from './drain-settings.js';
import { Heartbeat } from './heartbeat.js';
import type { GateExit } from './isolation.js';
import { Turn, type TurnRun } from './turn-state.js';
import { runTurn } from './turn-run.js';
import { runCommand } from './turn-end.js';

/** What the worker starts a drain with: its settings and the lease it just took. */
export interface DrainOptions extends DrainSettings {
  lease: SessionLease;
  /**
   * The first turn's claim and the session, when the lease came with them (leases.acquireAndClaimNext),
   * with the gate place taken for that claim; absent, the drain claims and loads itself.
   */
  opening?: DrainOpening;
}

export interface DrainOpening {
  claimed: ClaimNextResult;
  session: PersistedSessionRead | null;
  ticket: GateExit | undefined;
}

export type { TurnOutcome } from './turn-state.js';

/**
 * Why a drain ended. Only `empty` means the drain's last claim found no ready work and released the
 * lease in the same statement, so every batch enqueued before it was seen; after any other exit
 * the session may have work whose jobs already finished, and the worker adds a wake-up job.
 */
export type DrainExit = 'empty' | 'limit' | 'failed' | 'lost' | 'stopped';

export interface DrainReport {
  exit: DrainExit;
  /** The failed turn's batches and reason when `exit` is `failed`. */
  failure?: { batchIds: string[]; reason: string };
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
 * In steady state a turn costs one statement: the drain opens with the lease, the first claim
 * and the session read together (`opening`, from leases.acquireAndClaimNext), and each commit
 * claims the next turn (sessions.commitAndClaimNext), the claim that finds nothing releasing the
 * lease in the same statement. Where a statement could not take the claim, the drain sends its
 * own claimNext (the head command, else the ready group), the first beside the session load.
 * Each claimed turn runs as one Turn (src/runtime/turn-state.ts), whose claims the drain's
 * heartbeat renews with the lease.
 */
export async function drainSession(options: DrainOptions): Promise<DrainReport> {
  const { lease, opening, ...rest } = options;
  const settings: DrainSettings = Object.freeze(rest);
  const { store } = settings;
  const sessionId = lease.sessionId;
  const leaseLost = new AbortController();
  // The turn in flight, whose claims the heartbeat renews with the lease; null between turns.
  let turn: Turn | null = null;
  const heartbeat = new Heartbeat({
    store,
    lease,
    ttlMs: settings.leaseTtlMs,
    ...(settings.renewer ? { renewer: settings.renewer } : {}),
    claims: () => turn?.heldClaimList() ?? null,
    onLost: (err) => {
      settings.log.warn({ err, sessionId }, 'lease or claim renewal failed; stopping this session');
      leaseLost.abort('lease_lost');
    },
  });
  heartbeat.start();
  const report: DrainReport = { exit: 'limit', turns: 0, committed: 0, failed: 0, lost: false, completedBatchIds: new Set() };
  let released = false;
  // The next turn's claim and gate place when a statement that did more already took them.
  let ahead: Omit<DrainOpening, 'session'> | undefined = opening;
  try {
    // The first claim and the session came with the lease (`opening`), or are read here: the load
    // is awaited only beside the first claim, after the gate and the heartbeat's pause (which waits
    // for the process's renewal in flight): a load that fails meanwhile, or is never awaited because
    // the drain stops first, must not surface as an unhandled rejection, which ends the process
    // (found by the Postgres connection-loss test once the renewal became one call per process).
    let loading: Promise<PersistedSessionRead | null> | null = opening ? null : store.sessions.load(sessionId, { kind: 'active_path' });
    loading?.catch(() => {});
    let session: PersistedSessionRead | null = opening?.session ?? null;
    for (;;) {
      if (leaseLost.signal.aborted || settings.shutdown.aborted) {
        report.exit = leaseLost.signal.aborted ? 'lost' : 'stopped';
        break;
      }
      if (report.turns >= settings.maxTurnsPerLease) break;
      let ticket: GateExit | undefined;
      let claimed: ClaimNextResult;
      if (ahead) {
        // Taken by the statement before (the lease's, or the last commit's), with its gate place.
        ({ claimed, ticket } = ahead);
        ahead = undefined;
      } else {
        // A shared place in the turn gate before the claim: no claim is taken while a suspect runs
        // (its crash would charge it), and the place goes to the claimed turn (src/runtime/isolation.ts).
        const entered = await enterShared(settings, leaseLost.signal);
        if (entered === null) {
          report.exit = leaseLost.signal.aborted ? 'lost' : 'stopped';
          break;
        }
        ticket = entered;
        const next = await claimNextTurn(settings, heartbeat, loading, ticket);
        claimed = next.claimed;
        if (loading) session = next.session;
        loading = null;
      }
      released = claimed.leaseReleased;
      const claim = claimed.claim;
      const isCommand = claim?.batches[0]?.items[0]?.payload.type === 'session_command';
      // A session command runs no handler: it needs no place in the gate.
      if (!claim || isCommand) ticket?.();
      if (!claim) {
        // Not released without a claim: the statement kept being refused; leave it to a wake-up.
        report.exit = released ? 'empty' : 'limit';
        break;
      }
      report.turns++;
      turn = new Turn(settings, heartbeat, leaseLost.signal, claim, report.turns < settings.maxTurnsPerLease);
      const run: TurnRun = await (isCommand ? runCommand(turn, session) : runTurn(turn, session, ticket));
      turn = null;
      const { outcome, completed } = run;
      session = run.next;
      // A commit that claimed the next turn too (TurnRun.claimed) may have released the lease with it.
      if (run.claimed) {
        ahead = { claimed: run.claimed, ticket: run.aheadTicket };
        released = run.claimed.leaseReleased;
      }
      for (const batchId of completed ?? []) report.completedBatchIds.add(batchId);
      if (outcome === 'committed') report.committed++;
      else if (outcome === 'failed') report.failed++;
      else {
        report.lost = outcome === 'lost';
        report.exit = outcome;
        break;
      }
      // A failed turn releases the session so the batch's retry backs off instead of spinning.
      if (outcome === 'failed') {
        report.exit = 'failed';
        if (run.failure) report.failure = run.failure;
        break;
      }
    }
  } finally {
    // A claim taken ahead for a turn that will not run (shutdown, lease lost) is given back: held,
    // it would hide the queue head from the next holder until it expired.
    ahead?.ticket?.();
    if (ahead?.claimed.claim) await store.queue.abandonClaim(ahead.claimed.claim).catch((err) => settings.log.warn({ err, sessionId }, 'a claim taken ahead was not given back; it will expire'));
    await heartbeat.stop();
    if (!released) {
      await store.leases.release(leaseFence(heartbeat.currentLease())).catch((err) => settings.log.warn({ err, sessionId }, 'lease release failed; it will expire'));
    }
  }
  return report;
}

/**
 * The drain's one claimNext: the next turn's claim (the head command, else the ready group),
 * releasing the lease in the same statement when there is none. The first one also awaits the
 * session load started beside it (`loading`; null after the first). Renewals wait while it runs:
 * a renewal after it released the lease would read as a lost lease. A claim that throws gives the
 * gate ticket back.
 */
async function claimNextTurn(
  settings: DrainSettings,
  heartbeat: Heartbeat,
  loading: Promise<PersistedSessionRead | null> | null,
  ticket: GateExit | undefined,
): Promise<{ claimed: ClaimNextResult; session: PersistedSessionRead | null }> {
  await heartbeat.pause();
  try {
    settings.onClaim?.();
    // maxAttempts also retires batches whose turns kept dying with their worker (counted at takeover).
    const claiming = settings.store.queue.claimNext({
      sessionId: heartbeat.currentLease().sessionId,
      fence: leaseFence(heartbeat.currentLease()),
      owner: settings.owner,
      ttlMs: settings.leaseTtlMs,
      maxBatches: settings.maxBatchesPerTurn,
      maxAttempts: settings.maxAttempts,
      releaseLeaseWhenEmpty: true,
    });
    if (!loading) return { claimed: await claiming, session: null };
    const [session, claimed] = await Promise.all([loading, claiming]);
    return { claimed, session };
  } catch (err) {
    ticket?.();
    throw err;
  } finally {
    heartbeat.resume();
  }
}

/**
 * A shared place in the turn gate, waiting while a suspect runs or waits; undefined without a
 * gate, null when the lease was lost or the worker shuts down while waiting.
 */
async function enterShared(settings: DrainSettings, leaseLost: AbortSignal): Promise<GateExit | undefined | null> {
  if (!settings.isolation) return undefined;
  try {
    return await settings.isolation.enter('shared', AbortSignal.any([leaseLost, settings.shutdown]));
  } catch {
    return null;
  }
}
