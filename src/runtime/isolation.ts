/**
 * Suspect turns run alone. A turn that ends its process (process.exit, a native crash, the OOM
 * killer) takes every turn in flight in that process with it, and the takeover counts an
 * interrupted attempt on each of their claims (docs/store-semantics.md, "A claim dies with its
 * holder's takeover"): at that moment nobody can tell which turn was the culprit. The next run can.
 * A batch whose last failure is an interruption (INTERRUPTED_TURN) is a **suspect**; its turn runs
 * alone in its process: it waits until no other turn is in flight there and keeps new turns from
 * starting until its handler returns. If it ends the process again, it takes only itself down.
 *
 * A turn that has to wait at the gate first gives up its claims (no attempt counted) and takes the
 * same batches again once admitted: a process that dies while it waits then charges nothing to it.
 * So an input that does not crash is interrupted by another input's crash at most once (while it
 * ran beside it, before either was a suspect) and is never dead-lettered for it.
 *
 * Measured with chaos/poison-timeline.ts (seed 20261121, 3 workers × 8 slots, MAX_ATTEMPTS 3):
 * without the gate, 7 innocent batches were dead-lettered as collateral of 5 exiting inputs; with
 * it, none (docs/store-semantics.md, "Interrupted turns count as failed attempts").
 */
import type { Logger } from 'pino';
import { INTERRUPTED_TURN } from '../store/reasons.js';

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

  private take(mode: GateMode): GateExit {
    if (mode === 'alone') this.alone = true;
    else this.shared++;
    return this.exitFor(mode);
  }

  private exitFor(mode: GateMode): GateExit {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (mode === 'alone') this.alone = false;
      else this.shared--;
      this.pump();
    };
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

/** A turn is a suspect when the last failure of one of its batches is an interruption. */
export function isSuspect(claim: ClaimFailures): boolean {
  return claim.batches.some((b) => b.lastError === INTERRUPTED_TURN);
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
  log: Logger;
}

/**
 * Admits a turn to the gate before its handler runs: alone if it is a suspect, else shared. A turn
 * that must wait lets its claims go first and takes them back once admitted. Resolves with the
 * exit to call when the handler has returned or thrown; rejects (holding nothing in the gate) when
 * the signal fires or the batches cannot be taken back (TurnNotAdmittedError).
 */
export async function admitTurn(gate: TurnGate, claim: ClaimFailures, hooks: AdmissionHooks): Promise<GateExit> {
  const mode: GateMode = isSuspect(claim) ? 'alone' : 'shared';
  const suspects = claim.batches.filter((b) => b.lastError === INTERRUPTED_TURN).map((b) => ({ batchId: b.batchId, attempts: b.attempts }));
  if (mode === 'alone') hooks.log.info({ suspects, gate: gate.state }, 'suspect turn: its last attempt died with its worker, so it runs alone');
  const now = gate.tryEnter(mode);
  if (now) return now;
  const letGo = await hooks.letGo();
  const exit = await gate.enter(mode, hooks.signal);
  try {
    if (letGo && !(await hooks.takeBack())) throw new TurnNotAdmittedError('the turn could not claim its batches again after waiting for a suspect turn');
  } catch (err) {
    exit();
    throw err;
  }
  return exit;
}
