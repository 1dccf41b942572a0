/**
 * Process liveness for same-host reclaim of a provably dead lease holder. A holder is provably
 * dead only when it ran on this host in this boot and its pid is gone or now belongs to a process
 * started at another time (pid reuse). Anything else is treated as alive.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OwnerLiveness } from './contract.js';

let cachedBootId: string | undefined;

export function currentBootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = 'unknown-boot';
    }
  }
  return cachedBootId;
}

export function currentHostId(): string {
  return hostname();
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null if the pid does not exist. */
export function processStartTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (comm) is parenthesized and may contain spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3, so field 22 is rest[19].
  return rest[19] ?? null;
}

/** The liveness record of this process, or opaque where /proc is unavailable. */
export function currentProcessLiveness(): OwnerLiveness {
  const ticks = processStartTicks(process.pid);
  if (ticks === null) return { kind: 'opaque' };
  return { kind: 'local_process', hostId: currentHostId(), bootId: currentBootId(), pid: process.pid, processStartTicks: ticks };
}

/**
 * True only when `holder` is provably dead as seen from `claimant`, which must describe a process
 * on this very host and boot (the check reads this machine's /proc).
 */
export function isProcessDead(holder: OwnerLiveness | undefined, claimant: OwnerLiveness | undefined): boolean {
  if (holder?.kind !== 'local_process' || claimant?.kind !== 'local_process') return false;
  if (holder.hostId !== claimant.hostId || holder.bootId !== claimant.bootId) return false;
  if (claimant.hostId !== currentHostId() || claimant.bootId !== currentBootId()) return false;
  const ticks = processStartTicks(holder.pid);
  return ticks === null || ticks !== holder.processStartTicks;
}
