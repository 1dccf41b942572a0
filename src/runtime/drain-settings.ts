/**
 * What a drain runs with (src/runtime/drain.ts): the worker's store, handler, limits and signals,
 * fixed for the drain's lifetime. A leaf of the runtime's import graph: it imports only types, from
 * modules that never import it back, so the drain, its turns and the gate can all depend on it.
 */
import type { Logger } from 'pino';
import type { AttachmentStore, LeaseOwner, RuntimeStore } from '../store/contract.js';
import type { UseToolsOptions } from '../store/policy-types.js';
import type { Renewer } from './heartbeat.js';
import type { TurnHandler } from './turn.js';
import type { RuntimeEvents } from './events.js';
import type { TurnGate } from './isolation.js';

export interface DrainSettings {
  readonly store: RuntimeStore;
  readonly handler: TurnHandler;
  readonly owner: LeaseOwner;
  /** Lease and claim TTL in ms (WorkerOptions.leaseTtlMs). */
  readonly leaseTtlMs: number;
  /** Turns one lease runs before the drain releases it. */
  readonly maxTurnsPerLease: number;
  /** Batches one claim takes at most. */
  readonly maxBatchesPerTurn: number;
  /** Failed attempts after which a batch is dead-lettered. */
  readonly maxAttempts: number;
  /** Runs suspect turns alone in this process (src/runtime/isolation.ts); absent: no turn waits for another. */
  readonly isolation?: TurnGate;
  /**
   * Runs turns in sandbox processes (src/runtime/sandbox/pool.ts): suspect turns only, or all of
   * them. A sandboxed turn that ends its process fails alone; it runs alone in the gate only when
   * its worker's death interrupted it last.
   */
  readonly sandbox?: { readonly handler: TurnHandler; readonly turns: 'suspects' | 'all' };
  readonly attachments: AttachmentStore;
  /** Fires when the worker shuts down: turns are told through `turn.signal`. */
  readonly shutdown: AbortSignal;
  /** Fires after the shutdown grace period: unfinished turns are abandoned. */
  readonly hardStop: AbortSignal;
  /** Session policy hook for `turn.tools.use`: the worker's agent id and the tools' declared sensitivity come along. */
  useTools(sessionId: string, names: string[], options: UseToolsOptions): Promise<void>;
  /** The agent this worker runs (WorkerOptions.agentId), stated with every tool call. */
  readonly agentId?: string;
  readonly events: RuntimeEvents;
  readonly log: Logger;
  /** The process's heartbeat (one renewal statement per interval for all its sessions); absent, the drain renews alone. */
  readonly renewer?: Renewer;
  /** Called just before each claimNext is sent (the worker tracks which jobs arrived after the last one). */
  onClaim?(): void;
}
