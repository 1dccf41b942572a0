/**
 * One turn as the drain runs it (src/runtime/drain.ts): its lease fence, the claims it holds,
 * its abort signal, its logger, and what it does with its claims. The drain creates one per
 * claimed turn (session commands included), so nothing of a turn outlives it; the drain's lease
 * lives in its Heartbeat, which asks the turn in flight for the claims to renew with it.
 */
import type { Logger } from 'pino';
import type { ClaimNextResult, LeaseFence, PersistedSessionRead, QueuedWorkClaim } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import type { DrainSettings } from './drain-settings.js';
import type { Heartbeat } from './heartbeat.js';
import { ClaimList } from './claim-list.js';
import { turnIdFor, type TurnAbortReason } from './turn.js';
import type { GateExit } from './isolation.js';

export type TurnOutcome = 'committed' | 'failed' | 'lost' | 'stopped';

/** How a turn ended, as the drain loop reads it. */
export interface TurnRun {
  outcome: TurnOutcome;
  next: PersistedSessionRead | null;
  /** The batches a committed turn completed. */
  completed?: string[];
  /** A failed turn's batches and the reason recorded on them. */
  failure?: { batchIds: string[]; reason: string };
  /**
   * The next turn's claim when the commit took it in the same statement; absent, the drain
   * claims it with its own claimNext (src/runtime/drain.ts claimNextTurn).
   */
  claimed?: ClaimNextResult;
  /** The shared place in the turn gate taken for `claimed` before the commit claimed it (src/runtime/isolation.ts). */
  aheadTicket?: GateExit;
}

export class Turn {
  readonly sessionId: string;
  readonly turnId: string;
  /** The lease's fencing token when the turn started (it never changes under one lease). */
  readonly fencingToken: number;
  /** The batches of the turn's first claim. */
  readonly batchIds: string[];
  /** Fires when the lease is lost, the worker shuts down or the session ended under the turn; its reason says which. */
  readonly signal: AbortSignal;
  /** pino child bound to sessionId, turnId, fencingToken and batchIds. */
  readonly log: Logger;
  private readonly claims = new ClaimList();
  private readonly sessionEnded = new AbortController();

  constructor(
    readonly settings: DrainSettings,
    /** The drain's heartbeat: the current lease, and renewals held while a claim or commit statement runs. */
    private readonly heartbeat: Heartbeat,
    /** The drain's lease-lost signal. */
    readonly leaseLost: AbortSignal,
    /** The claim the turn starts with. */
    readonly first: QueuedWorkClaim,
    /** Another turn may follow under this lease: the commit may claim it in the same statement. */
    readonly mayClaimAhead = false,
  ) {
    this.sessionId = first.sessionId;
    this.turnId = turnIdFor(first);
    this.fencingToken = heartbeat.currentLease().fencingToken;
    this.batchIds = first.batches.map((b) => b.batchId);
    this.signal = AbortSignal.any([leaseLost, settings.shutdown, this.sessionEnded.signal]);
    this.log = settings.log.child({ sessionId: this.sessionId, turnId: this.turnId, fencingToken: this.fencingToken, batchIds: this.batchIds });
  }

  /** The fence of the lease as last renewed: what every claim and commit of the turn presents. */
  fence(): LeaseFence {
    return leaseFence(this.heartbeat.currentLease());
  }

  /** The claim list the heartbeat renews while this turn is in flight. */
  heldClaimList(): ClaimList {
    return this.claims;
  }

  /** The latest version of each claim the turn holds. */
  heldClaims(): QueuedWorkClaim[] {
    return this.claims.list();
  }

  addClaim(claim: QueuedWorkClaim): void {
    this.claims.add(claim);
  }

  /** Forgets every claim: they were completed, abandoned or cancelled. */
  clearClaims(): void {
    this.claims.clear();
  }

  /** Fires the turn's signal with `reason` session_closed. */
  endSession(): void {
    this.sessionEnded.abort('session_closed' satisfies TurnAbortReason);
  }

  /**
   * Runs a claim or commit statement with renewals held: a renewal racing it would find its claim
   * gone and take that for a lost claim. A commit lasts milliseconds, a TTL seconds.
   */
  async withRenewalsHeld<T>(statement: () => Promise<T>): Promise<T> {
    await this.heartbeat.pause();
    try {
      return await statement();
    } finally {
      this.heartbeat.resume();
    }
  }

  /** Abandons every claim of the turn; with a failure, counts an attempt and returns the dead-lettered batch ids. */
  async abandonAll(failure?: { reason: string; maxAttempts: number }): Promise<string[]> {
    const deadLettered: string[] = [];
    for (const claim of this.claims.list()) {
      try {
        const letters = await this.settings.store.queue.abandonClaim(claim, failure);
        deadLettered.push(...letters.map((l) => l.batchId));
      } catch (err) {
        this.settings.log.warn({ err, sessionId: claim.sessionId, claimId: claim.claimId }, 'abandoning a claim failed; it will expire');
      }
    }
    this.claims.clear();
    return deadLettered;
  }

  /**
   * Marks every claim the turn holds alone (src/store/contract.ts markClaimAlone). Also used without
   * a turn gate (isolateSuspects: false) for suspects, which then are not alone: otherwise an input
   * that ends its process would never be charged and would crash-loop forever.
   */
  async markClaimsAlone(): Promise<boolean> {
    for (const claim of this.claims.list()) {
      if (!(await this.settings.store.queue.markClaimAlone(claim))) return false;
    }
    return true;
  }
}
