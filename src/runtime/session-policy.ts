/**
 * The task-session policy as the worker sees it (spec/04-session-policy.md): `turn.tools.use`
 * through the store, the check a turn's checkpoint makes, and what happens to a turn whose
 * session was closed or expired under it. Kept out of drain.ts so the drain stays small.
 */
import type { Logger } from 'pino';
import { SessionClosedError, SessionExpiredError, SessionNotFoundError } from '../errors.js';
import type { QueuedWorkClaim, RuntimeStore } from '../store/contract.js';
import type { UseToolsOptions } from '../store/policy-types.js';
import { TurnAbortedError } from './turn.js';

/** How a worker decides `turn.tools.use` (WorkerOptions.useTools). */
export type ToolPolicy = (sessionId: string, names: string[], options?: UseToolsOptions) => Promise<void>;

/**
 * `turn.tools.use` under the session's policy: `store.sessions.useTools`, all or nothing, with the
 * worker's agent id and the tools' declared sensitivity. A session without a task-session record
 * is an implicit session: it has no policy, so the call succeeds and consumes nothing
 * (docs/store-semantics.md, "Task sessions"). A worker uses it unless given another policy.
 */
export function toolPolicy(store: RuntimeStore): ToolPolicy {
  return async (sessionId, names, options) => {
    try {
      await store.sessions.useTools(sessionId, names, options);
    } catch (err) {
      if (err instanceof SessionNotFoundError) return;
      throw err;
    }
  };
}

/** Allows every tool call and records none: a worker that must not enforce task sessions says so with this. */
export const allowAllTools: ToolPolicy = async () => {};

/** True when the session's task-session record says it is closed or expired (one primary-key read). */
export async function sessionHasEnded(store: RuntimeStore, sessionId: string): Promise<boolean> {
  const record = await store.sessions.get(sessionId);
  return record !== null && record.status !== 'active';
}

/** The error a turn ends with when its session was closed or expired under it. */
export function isSessionEnded(err: unknown): boolean {
  return err instanceof SessionClosedError || err instanceof SessionExpiredError || (err instanceof TurnAbortedError && err.reason === 'session_closed');
}

/**
 * Ends the work of a turn whose session has ended: abandons its claims (no failed attempt: the
 * input is not poison) and cancels their batches, as close would have done had they been
 * unclaimed. Returns the cancelled batch ids. Never throws: what fails here is left to expire.
 */
export async function cancelEndedSessionWork(store: RuntimeStore, claims: QueuedWorkClaim[], log: Logger): Promise<string[]> {
  const cancelled: string[] = [];
  for (const claim of claims) {
    try {
      await store.queue.abandonClaim(claim);
      for (const batch of claim.batches) {
        if (await store.queue.cancel(claim.sessionId, batch.batchId)) cancelled.push(batch.batchId);
      }
    } catch (err) {
      log.warn({ err, sessionId: claim.sessionId, claimId: claim.claimId }, 'cancelling the work of an ended session failed; the claim will expire');
    }
  }
  return cancelled;
}
