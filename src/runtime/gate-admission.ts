/**
 * The drain's side of the turn gate (src/runtime/isolation.ts): how a claimed turn lets its claim
 * go while it waits for a suspect, and takes the same batches back once admitted.
 */
import type { Turn } from './turn-state.js';
import { admitTurn, type GateExit, type GateMode, type TurnGate } from './isolation.js';

/** Admits the claimed turn to the gate in `mode`; resolves with the exit to call when its handler is done. */
export function admitToGate(turn: Turn, gate: TurnGate, mode: GateMode, signal: AbortSignal, ticket: GateExit | undefined): Promise<GateExit> {
  const { settings, log, first: claim } = turn;
  const { store } = settings;
  return admitTurn(
    gate,
    claim,
    {
      signal,
      letGo: () =>
        turn.withRenewalsHeld(async () => {
          try {
            await store.queue.abandonClaim(claim);
            turn.clearClaims();
            return true;
          } catch (err) {
            log.warn({ err }, 'could not let the claim go before waiting for a suspect turn; waiting with it');
            return false;
          }
        }),
      takeBack: async () => {
        const again = await store.queue.claimByBatchIds({ sessionId: claim.sessionId, fence: turn.fence(), owner: settings.owner, boundary: 'idle', ttlMs: settings.leaseTtlMs, batchIds: turn.batchIds });
        if (again) turn.addClaim(again);
        return again !== null;
      },
      markAlone: () => turn.markClaimsAlone(),
      log,
    },
    ticket,
    mode,
  );
}
