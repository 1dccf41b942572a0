/**
 * The drain: under one session lease, run up to `maxTurnsPerLease` turns, each ending in one
 * turn commit, then release the lease. Session commands at the head go first; a turn whose
 * handler throws counts a failed attempt on its batches (dead-lettered at `maxAttempts`).
 */
import type { Logger } from 'pino';
import type { AttachmentStore, ClaimNextResult, LeaseOwner, PersistedSessionRead, RuntimeStore, SessionLease } from '../store/contract.js';
import type { UseToolsOptions } from '../store/policy-types.js';
import { leaseFence } from '../store/drafts.js';
import { Heartbeat, type Renewer } from './heartbeat.js';
import type { TurnHandler } from './turn.js';
import type { RuntimeEvents } from './events.js';
import type { GateExit, TurnGate } from './isolation.js';
import { runTurn } from './turn-run.js';
import { runCommand, type TurnRun } from './turn-end.js';

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
   * them. A sandboxed turn that ends its process fails alone; it runs alone in the gate only when
   * its worker's death interrupted it last.
   */
  sandbox?: { handler: TurnHandler; turns: 'suspects' | 'all' };
  attachments: AttachmentStore;
  /** Fires when the worker shuts down: turns are told through `turn.signal`. */
  shutdown: AbortSignal;
  /** Fires after the shutdown grace period: unfinished turns are abandoned. */
  hardStop: AbortSignal;
  /** Session policy hook for `turn.tools.use`: the worker's agent id and the tools' declared sensitivity come along. */
  useTools(sessionId: string, names: string[], options: UseToolsOptions): Promise<void>;
  /** The agent this worker runs (WorkerOptions.agentId), stated with every tool call. */
  agentId?: string;
  events: RuntimeEvents;
  log: Logger;
  /** The process's heartbeat (one renewal statement per interval for all its sessions); absent, the drain renews alone. */
  renewer?: Renewer;
  /** Called just before each claimNext is sent (the worker tracks which jobs arrived after the last one). */
  onClaim?(): void;
}

export type TurnOutcome = 'committed' | 'failed' | 'lost' | 'stopped';

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
    ...(options.renewer ? { renewer: options.renewer } : {}),
    onLost: (err) => {
      options.log.warn({ err, sessionId }, 'lease or claim renewal failed; stopping this session');
      leaseLost.abort('lease_lost');
    },
  });
  heartbeat.start();
  const report: DrainReport = { exit: 'limit', turns: 0, committed: 0, failed: 0, lost: false, completedBatchIds: new Set() };
  let released = false;
  try {
    let loading: Promise<PersistedSessionRead | null> | null = store.sessions.load(sessionId, { kind: 'active_path' });
    // Awaited only beside the first claim, after the gate and the heartbeat's pause (which waits for
    // the process's renewal in flight): a load that fails meanwhile, or is never awaited because the
    // drain stops first, must not surface as an unhandled rejection, which ends the process (found
    // by the Postgres connection-loss test once the renewal became one call per process).
    loading.catch(() => {});
    let session: PersistedSessionRead | null = null;
    for (;;) {
      if (leaseLost.signal.aborted || options.shutdown.aborted) {
        report.exit = leaseLost.signal.aborted ? 'lost' : 'stopped';
        break;
      }
      if (report.turns >= options.maxTurnsPerLease) break;
      // A shared place in the turn gate before the claim: no claim is taken while a suspect runs
      // (its crash would charge it), and the place goes to the claimed turn (src/runtime/isolation.ts).
      const ticket = await enterShared(options, leaseLost.signal);
      if (ticket === null) {
        report.exit = leaseLost.signal.aborted ? 'lost' : 'stopped';
        break;
      }
      // Renewals wait while a claim may release the lease: a renewal after it would read as a lost lease.
      await heartbeat.pause();
      let claimed: ClaimNextResult;
      try {
        options.onClaim?.();
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
      if (!claim) {
        // Not released without a claim: the statement kept being refused; leave it to a wake-up.
        report.exit = released ? 'empty' : 'limit';
        break;
      }
      report.turns++;
      const run: TurnRun = await (isCommand ? runCommand(options, heartbeat, session, claim) : runTurn(options, heartbeat, leaseLost.signal, session, claim, ticket));
      const { outcome, completed } = run;
      session = run.next;
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
    await heartbeat.stop();
    if (!released) {
      await store.leases.release(leaseFence(heartbeat.currentLease())).catch((err) => options.log.warn({ err, sessionId }, 'lease release failed; it will expire'));
    }
  }
  return report;
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
