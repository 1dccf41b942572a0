/**
 * The dashboard's notice box says only what this table says. A redirect after an action carries a
 * code (`?done=cancelled`, `?refused=BATCH_HELD`), never text: `?notice=<anything>` used to put
 * attacker text in the trusted notice box of a link's target (issue 14). Unknown codes show nothing.
 */
const DONE = {
  cancelled: 'Batch cancelled.',
  closed: 'Session closed; its unclaimed batches were cancelled.',
  requeued: 'Dead letter requeued at the tail of its session.',
} as const;

const REFUSED: Record<string, string> = {
  BATCH_HELD: 'The batch is held by a running turn; it cannot be cancelled now.',
  BATCH_NOT_FOUND: 'That batch is no longer in the queue.',
  DEAD_LETTER_NOT_FOUND: 'That dead letter is gone; it may have been requeued already.',
  SESSION_NOT_FOUND: 'That session does not exist.',
  SESSION_CLOSED: 'The session is already closed.',
  SESSION_EXPIRED: 'The session has expired.',
  INVALID_INPUT: 'The request was not valid.',
};

export type DoneCode = keyof typeof DONE;

/** The query a redirect after an action carries. */
export function doneQuery(code: DoneCode): string {
  return `done=${code}`;
}

/** The query a redirect after a refused action carries: the error's code, shown from REFUSED or as a generic refusal. */
export function refusedQuery(errorCode: string): string {
  return `refused=${encodeURIComponent(errorCode in REFUSED ? errorCode : 'OTHER')}`;
}

/** The notice a page shows for its query, from the tables above only. */
export function noticeOf(query: unknown): { text: string; error: boolean } | undefined {
  const q = (query ?? {}) as { done?: unknown; refused?: unknown };
  if (typeof q.done === 'string' && Object.hasOwn(DONE, q.done)) return { text: DONE[q.done as DoneCode], error: false };
  if (typeof q.refused === 'string') return { text: Object.hasOwn(REFUSED, q.refused) ? REFUSED[q.refused]! : 'The action was refused.', error: true };
  return undefined;
}
