/**
 * The drain's side of the turn gate (src/runtime/isolation.ts): how a claimed turn lets its claim
 * go while it waits for a suspect, and takes the same batches back once admitted.
 */
import type { Logger } from 'pino';
import type { QueuedWorkClaim } from '../store/contract.js';
import { leaseFence } from '../store/drafts.js';
import type { DrainOptions } from './drain.js';
import type { Heartbeat } from './heartbeat.js';
import { admitTurn, type GateExit, type GateMode, type TurnGate } from './isolation.js';

/** Admits the claimed turn to the gate in `mode`; resolves with the exit to call when its handler is done. */
export function admitToGate(options: DrainOptions, gate: TurnGate, heartbeat: Heartbeat, claim: QueuedWorkClaim, mode: GateMode, signal: AbortSignal, ticket: GateExit | undefined, log: Logger): Promise<GateExit> {
  const { store } = options;
  const batchIds = claim.batches.map((b) => b.batchId);
  return admitTurn(
    gate,
    claim,
    {
      signal,
      letGo: async () => {
        await heartbeat.pause();
        try {
          await store.queue.abandonClaim(claim);
          heartbeat.clearClaims();
          return true;
        } catch (err) {
          log.warn({ err }, 'could not let the claim go before waiting for a suspect turn; waiting with it');
          return false;
        } finally {
          heartbeat.resume();
        }
      },
      takeBack: async () => {
        const fence = leaseFence(heartbeat.currentLease());
        const again = await store.queue.claimByBatchIds({ sessionId: claim.sessionId, fence, owner: options.owner, boundary: 'idle', ttlMs: options.leaseTtlMs, batchIds });
        if (again) heartbeat.addClaim(again);
        return again !== null;
      },
      markAlone: () => markClaimsAlone(options, heartbeat),
      log,
    },
    ticket,
    mode,
  );
}

/**
 * Marks every claim the turn holds alone (src/store/contract.ts markClaimAlone). Also used without
 * a turn gate (isolateSuspects: false) for suspects, which then are not alone: otherwise an input
 * that ends its process would never be charged and would crash-loop forever.
 */
export async function markClaimsAlone(options: DrainOptions, heartbeat: Heartbeat): Promise<boolean> {
  for (const claim of heartbeat.currentClaims()) {
    if (!(await options.store.queue.markClaimAlone(claim))) return false;
  }
  return true;
}
