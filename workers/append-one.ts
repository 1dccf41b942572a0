/**
 * The benchmark handler (`TURNLANE_HANDLER=append-one`): one node per turn that names the turn's
 * inputs, nothing else, so a benchmark measures turnlane's claim and commit path and not an agent.
 *
 * `holdMs` keeps the turn open that long first (the P8 takeover scenario needs a worker that holds
 * its sessions when it is killed; P9 simulates an agent's model time with it); it ends early when
 * `turn.signal` fires. A held turn calls `turn.checkpoint()` once halfway through, as an agent
 * does between two model calls, and names the inputs that checkpoint brought too.
 */
import type { TurnHandler } from '../src/runtime/turn.js';

export interface AppendOneOptions {
  /** Milliseconds each turn waits before it returns. Default 0. */
  holdMs?: number;
}

function hold(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createAppendOneHandler(options: AppendOneOptions = {}): TurnHandler {
  const holdMs = options.holdMs ?? 0;
  return async (turn) => {
    const inputs = [...turn.inputs];
    if (holdMs > 0) {
      await hold(holdMs / 2, turn.signal);
      if (!turn.signal.aborted) inputs.push(...(await turn.checkpoint()));
      await hold(holdMs - holdMs / 2, turn.signal);
    }
    const batchIds = inputs.map((input) => input.batchId);
    return { append: [{ causedBy: batchIds[0] ?? null, payload: { kind: 'event', event: { type: 'bench.append_one', inputs: batchIds.length } } }] };
  };
}
