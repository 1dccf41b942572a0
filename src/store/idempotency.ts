/**
 * The source-key rule both stores apply to a replay (docs/store-semantics.md "Queued work"): a
 * key answers with its first batch, unless the replay and the first draft both named a
 * `requestHash` and the two differ.
 */
import { IdempotencyKeyReusedError } from '../errors.js';
import type { NormalizedDraft } from './validate.js';

/**
 * IdempotencyKeyReusedError when `draft` names another request than the one stored with its
 * source key. Passes when either side has no hash (a draft without one, a key stored without one).
 */
export function assertSameRequest(draft: NormalizedDraft, storedHash: string | null): void {
  if (draft.requestHash === null || storedHash === null || draft.requestHash === storedHash) return;
  throw new IdempotencyKeyReusedError(`source key ${draft.sourceKey} of session ${draft.sessionId} was first used for another request`, {
    sessionId: draft.sessionId,
    sourceKey: draft.sourceKey,
  });
}
