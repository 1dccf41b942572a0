/** Reasons the stores write themselves, shared so both implementations write the same text. */

/** The last error of a batch whose claim died with its holder's takeover (counted as a failed attempt). */
export const INTERRUPTED_TURN = 'interrupted: the worker running this turn stopped or lost the session lease';

/** The dead-letter reason of a batch that reached its attempts without a recorded error. */
export function exhaustedReason(attempts: number): string {
  return `failed ${attempts} attempts`;
}

/** How the failure text of a turn whose sandbox process ended begins (src/runtime/sandbox/pool.ts). */
export const PROCESS_EXITED = 'TurnProcessExitedError:';

/** The failure text of a turn whose sandbox process ended; `how` says how ("… exited with code 86 …"). */
export function processExitedReason(how: string): string {
  return `${PROCESS_EXITED} ${how}`.slice(0, 2000);
}

/**
 * Whether a batch's last failure ended a process: its worker's (INTERRUPTED_TURN, counted at the
 * takeover) or its sandbox's. Such a batch is a suspect: it may end the process it runs in again.
 */
export function endedItsProcess(lastError: string | null): boolean {
  return lastError === INTERRUPTED_TURN || (lastError?.startsWith(PROCESS_EXITED) ?? false);
}
