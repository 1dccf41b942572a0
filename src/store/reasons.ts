/** Reasons the stores write themselves, shared so both implementations write the same text. */

/** The last error of a batch whose claim died with its holder's takeover (counted as a failed attempt). */
export const INTERRUPTED_TURN = 'interrupted: the worker running this turn stopped or lost the session lease';

/** The dead-letter reason of a batch that reached its attempts without a recorded error. */
export function exhaustedReason(attempts: number): string {
  return `failed ${attempts} attempts`;
}
