/**
 * Suspect turns run alone. A turn that ends its process (process.exit, a native crash, the OOM
 * killer) takes every turn in flight in that process with it, and the takeover counts an
 * interrupted attempt on each of their claims (docs/store-semantics.md, "A claim dies with its
 * holder's takeover"): at that moment nobody can tell which turn was the culprit. The next run can.
 * A batch whose last failure is an interruption (INTERRUPTED_TURN) is a **suspect**; its turn runs
 * alone in its process: it waits until no other turn is in flight there and keeps new turns from
 * starting until its handler returns. If it ends the process again, it takes only itself down.
 *
 * No other claim may be held in the process while a suspect runs, or its crash charges that claim
 * too. So the drain loop takes a shared place (a ticket) before each claim, which a running or
 * waiting suspect holds back, and hands it to the claimed turn (`admitTurn`): a turn that is not a
 * suspect runs under it; a suspect gives its claim up (no attempt counted) while still holding the
 * ticket, then waits to run alone and takes the same batches back once admitted. A suspect's crash
 * then charges nobody else; what can still charge an input that does not crash is the *first* crash of each other poison input, which runs
 * shared because nothing marks it yet: once per poison input, and only if it was in flight (or, as
 * a suspect, between its claim and letting it go) at that moment. (Without the claim tickets,
 * chaos/poison-timeline.ts found 4 batches charged twice in one run: a rescue drains a dead
 * process's sessions at once, and their claims were in flight when the rescued poison input
 * started alone.)
 *
 * Measured with chaos/poison-timeline.ts (seed 20261121, 3 workers × 8 slots, 5 exiting inputs,
 * MAX_ATTEMPTS 3): without the gate 7 and 12 innocent batches were dead-lettered, and 17 charged
 * twice or more; with it, none dead-lettered in 5 runs, and 0, 0, 0 and 2 charged twice in the 4
 * runs with gated claims (docs/store-semantics.md, "Interrupted turns count as failed attempts,
 * and suspects run alone").
 */
import type { Logger } from 'pino';
import { endedItsProcess, INTERRUPTED_TURN } from '../store/reasons.js';

/** `shared`: beside other shared turns. `alone`: with no other turn in flight in the process. */
export type GateMode = 'shared' | 'alone';

/** Leaves the gate; calling it again does nothing. */
export type GateExit = () => void;

interface Waiter {
  mode: GateMode;
  admit(): void;
}

/**
 * A writer-preferring readers–writer gate over the turns of one process. Shared turns enter while
 * no alone turn runs or waits; an alone turn enters once no turn is in flight, in arrival order
 * among alone turns. Preferring the alone turns bounds their wait by the longest turn in flight;
 * shared turns wait at most for the alone turns queued ahead of them, each a single turn.
 */
export class TurnGate {
  private shared = 0;
  private alone = false;
  private readonly aloneWaiters: Waiter[] = [];
  private readonly sharedWaiters = new Set<Waiter>();
  private readonly liveShared = new WeakSet<GateExit>();

  /** Turns in the gate and waiting at it, for logs and tests. */
  get state(): { shared: number; alone: boolean; waitingAlone: number; waitingShared: number } {
    return { shared: this.shared, alone: this.alone, waitingAlone: this.aloneWaiters.length, waitingShared: this.sharedWaiters.size };
  }

  /** Enters now if the mode may; null when it would have to wait. */
  tryEnter(mode: GateMode): GateExit | null {
    if (this.alone || this.aloneWaiters.length > 0) return null;
    if (mode === 'alone' && this.shared > 0) return null;
    return this.take(mode);
  }

  /** Enters when the mode may. Rejects with the signal's reason if it fires first (nothing held then). */
  enter(mode: GateMode, signal?: AbortSignal): Promise<GateExit> {
    const now = this.tryEnter(mode);
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<GateExit>((resolve, reject) => {
      const onAbort = () => {
        if (mode === 'alone') this.aloneWaiters.splice(this.aloneWaiters.indexOf(waiter), 1);
        else this.sharedWaiters.delete(waiter);
        // An alone turn that stops waiting may be all that kept shared turns out.
        this.pump();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        mode,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.exitFor(mode));
        },
      };
      if (mode === 'alone') this.aloneWaiters.push(waiter);
      else this.sharedWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Turns a live shared exit into an alone one when it is the only turn in the gate and no alone
   * turn waits; null otherwise, and the shared exit stays as it was.
   */
  upgrade(shared: GateExit): GateExit | null {
    if (!this.liveShared.has(shared) || this.alone || this.aloneWaiters.length > 0 || this.shared !== 1) return null;
    // Alone first, so the shared exit's pump admits nobody in between.
    this.alone = true;
    shared();
    return this.exitFor('alone');
  }

  private take(mode: GateMode): GateExit {
    if (mode === 'alone') this.alone = true;
    else this.shared++;
    return this.exitFor(mode);
  }

  private exitFor(mode: GateMode): GateExit {
    let done = false;
    const exit = () => {
      if (done) return;
      done = true;
      if (mode === 'alone') this.alone = false;
      else {
        this.shared--;
        this.liveShared.delete(exit);
      }
      this.pump();
    };
    if (mode === 'shared') this.liveShared.add(exit);
    return exit;
  }

  /** Admits whoever may enter now: the first alone waiter once the gate is empty, else every shared waiter. */
  private pump(): void {
    if (this.alone) return;
    const next = this.aloneWaiters[0];
    if (next) {
      if (this.shared > 0) return;
      this.aloneWaiters.shift();
      this.alone = true;
      next.admit();
      return;
    }
    const admitted = [...this.sharedWaiters];
    this.sharedWaiters.clear();
    for (const waiter of admitted) {
      this.shared++;
      waiter.admit();
    }
  }
}

/**
 * The gate of this process. One per process, not per worker: a crash ends every worker in the
 * process, so turns of two workers created in one process share it.
 */
export const processTurnGate = new TurnGate();

/** A claim whose batches say whether their last attempt was interrupted (src/store/contract.ts ClaimedBatch). */
export interface ClaimFailures {
  batches: ReadonlyArray<{ batchId: string; attempts: number; lastError: string | null }>;
}

/**
 * Whether one of the turn's batches was last interrupted by its worker's death. A sandboxed turn
 * (src/runtime/sandbox/pool.ts) cannot end its worker, but it still runs alone when this holds:
 * while it runs no other claim is held, so if workers keep dying (SIGKILL, OOM, a node lost) a
 * batch that was in flight once is not charged again along with every other turn in flight.
 */
export function interruptedByItsWorker(claim: ClaimFailures): boolean {
  return claim.batches.some((b) => b.lastError === INTERRUPTED_TURN);
}

/** A turn is a suspect when the last failure of one of its batches ended its process (src/store/reasons.ts). */
export function isSuspect(claim: ClaimFailures): boolean {
  return claim.batches.some((b) => endedItsProcess(b.lastError));
}

/** The turn could not take its batches back after waiting (they were cancelled meanwhile, or the lease is gone). */
export class TurnNotAdmittedError extends Error {
  override readonly name = 'TurnNotAdmittedError';
}

export interface AdmissionHooks {
  /** Stops the wait: lease lost, shutdown, hard stop. The admission then rejects with its reason. */
  signal: AbortSignal;
  /** Gives up the turn's claims without counting an attempt; false if it could not (the turn then waits holding them). */
  letGo(): Promise<boolean>;
  /** Claims the same batches again under the session lease; false when they cannot be claimed as they were. */
  takeBack(): Promise<boolean>;
  /**
   * Tells the store the turn's claims now run alone in this process (`queue.markClaimAlone`), so
   * this process's death is charged to them and to nobody else; false when a claim is gone.
   */
  markAlone(): Promise<boolean>;
  log: Logger;
}

/**
 * Admits a turn to the gate before its handler runs: alone if it is a suspect, else shared.
 * `ticket` is the shared place the drain loop took before it claimed (so no claim is taken while
 * a suspect runs); a shared turn keeps it, a suspect trades it for an alone place. A turn that must
 * wait lets its claims go first and takes them back once admitted. Resolves with the exit to call
 * when the handler has returned or thrown; rejects (holding nothing in the gate) when the signal
 * fires or the batches cannot be taken back (TurnNotAdmittedError).
 */
export async function admitTurn(gate: TurnGate, claim: ClaimFailures, hooks: AdmissionHooks, ticket?: GateExit, mode: GateMode = isSuspect(claim) ? 'alone' : 'shared'): Promise<GateExit> {
  const suspects = claim.batches.filter((b) => endedItsProcess(b.lastError)).map((b) => ({ batchId: b.batchId, attempts: b.attempts }));
  if (mode === 'alone') hooks.log.info({ suspects, gate: gate.state }, 'suspect turn: its last attempt ended its process, so it runs alone');
  if (ticket && mode === 'shared') return ticket;
  const now = ticket ? gate.upgrade(ticket) : gate.tryEnter(mode);
  if (now) return mode === 'alone' ? markedAlone(now, hooks) : now;
  let letGo: boolean;
  try {
    letGo = await hooks.letGo();
  } finally {
    // Given back only now: while the claim was still held, the ticket kept every suspect out.
    ticket?.();
  }
  const exit = await gate.enter(mode, hooks.signal);
  try {
    if (letGo && !(await hooks.takeBack())) throw new TurnNotAdmittedError('the turn could not claim its batches again after waiting for a suspect turn');
  } catch (err) {
    exit();
    throw err;
  }
  return mode === 'alone' ? markedAlone(exit, hooks) : exit;
}

/** An alone turn's claims are marked alone before its handler runs; the exit is given back if they cannot be. */
async function markedAlone(exit: GateExit, hooks: AdmissionHooks): Promise<GateExit> {
  try {
    if (!(await hooks.markAlone())) throw new TurnNotAdmittedError('the turn\'s claim was gone before it could be marked alone');
  } catch (err) {
    exit();
    throw err;
  }
  return exit;
}
