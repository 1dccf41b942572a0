/**
 * The global checker of a chaos run (spec 06 "Reliability"): the invariants over the run's history
 * (the workers' IPC turn reports) and a final Postgres snapshot.
 *
 * - LOST: accepted batches in no terminal state after the drain: still queued, or neither
 *   completed (a user node of the session names it as `causedBy`: the demo agent appends one per
 *   input it hears) nor dead-lettered with a reason.
 * - DUP: turn ids reported committed more than once; (session, head revision) reported by more
 *   than one commit; batches heard by more than one committed node; sessions whose committed
 *   assistant replies (one per commit) differ from their head revision (a gap or a repeat).
 * - FENCE: one fencing token of a session used by commits of two different worker processes (two
 *   grants with the same token), or a session whose lease row's fencing token is below one its
 *   commits used.
 * - STALE: commits accepted with a stale token: a commit whose fencing token is lower than that
 *   of a commit at an earlier head revision of the same session.
 * - committed fraction: accepted batches completed by a commit, over those that should complete
 *   (all but the ones the scenario expects to be dead-lettered).
 */
import type { DeadLetter, RuntimeStore } from '../src/store/contract.js';
import type { ChaosWorld, HistoryEntry } from './harness.js';

export interface Counters {
  LOST: number;
  DUP: number;
  FENCE: number;
  STALE: number;
  committedFraction: number;
  offeredBatches: number;
  completedBatches: number;
  deadLettered: number;
  commits: number;
}

export interface CheckDetails {
  counters: Counters;
  /** Up to 20 examples per counter, for the results file. */
  examples: Record<string, string[]>;
}

interface Snapshot {
  heardBy: Map<string, number>;
  assistants: Map<string, number>;
  heads: Map<string, number>;
  queued: Set<string>;
  deadLetters: DeadLetter[];
  leaseFencing: Map<string, number>;
}

async function snapshot(store: RuntimeStore, sessions: string[]): Promise<Snapshot> {
  const snap: Snapshot = { heardBy: new Map(), assistants: new Map(), heads: new Map(), queued: new Set(), deadLetters: [], leaseFencing: new Map() };
  for (const s of sessions) {
    const read = await store.sessions.load(s, { kind: 'full_graph' });
    for (const node of read?.graph.nodes ?? []) {
      if (node.payload.kind !== 'message') continue;
      if (node.payload.role === 'user' && node.causedBy) snap.heardBy.set(node.causedBy, (snap.heardBy.get(node.causedBy) ?? 0) + 1);
      if (node.payload.role === 'assistant') snap.assistants.set(s, (snap.assistants.get(s) ?? 0) + 1);
    }
    snap.heads.set(s, read?.headRevision ?? 0);
    for (const b of await store.queue.list(s)) snap.queued.add(b.batchId);
    const lease = await store.leases.get(s);
    if (lease) snap.leaseFencing.set(s, lease.fencingToken);
  }
  snap.deadLetters = await store.queue.listDeadLetters();
  return snap;
}

/** Runs every check. `expectDeadLetter(batchId)`: the scenario meant this batch to be dead-lettered (poison). */
export async function check(world: ChaosWorld, expectDeadLetter: (batchId: string) => boolean = () => false): Promise<CheckDetails> {
  const examples: Record<string, string[]> = { LOST: [], DUP: [], FENCE: [], STALE: [] };
  const add = (what: keyof typeof examples, text: string) => void (examples[what]!.length < 20 && examples[what]!.push(text));
  const sessions = [...new Set([...world.accepted.values()].map((b) => b.sessionId))].sort();
  const snap = await snapshot(world.store, sessions);
  const commits = world.history.filter((h): h is Extract<HistoryEntry, { type: 'turn' }> => h.type === 'turn');
  const lettered = new Map(snap.deadLetters.map((d) => [d.batchId, d]));

  let LOST = 0;
  let completed = 0;
  let shouldComplete = 0;
  for (const batchId of world.accepted.keys()) {
    const heard = snap.heardBy.get(batchId) ?? 0;
    const letter = lettered.get(batchId);
    if (!expectDeadLetter(batchId)) shouldComplete++;
    if (heard > 0) completed++;
    const terminal = !snap.queued.has(batchId) && (heard > 0 || (letter !== undefined && letter.reason.length > 0));
    if (!terminal) {
      LOST++;
      add('LOST', `${batchId} (${snap.queued.has(batchId) ? 'still queued' : 'gone without a commit or dead letter'})`);
    }
  }

  let DUP = 0;
  const seenTurns = new Map<string, number>();
  const seenRevisions = new Map<string, number>();
  for (const c of commits) {
    seenTurns.set(c.turnId, (seenTurns.get(c.turnId) ?? 0) + 1);
    const key = `${c.sessionId}@${c.headRevision}`;
    seenRevisions.set(key, (seenRevisions.get(key) ?? 0) + 1);
  }
  for (const [turnId, n] of seenTurns) if (n > 1) (DUP++, add('DUP', `turn ${turnId} reported committed ${n} times`));
  for (const [key, n] of seenRevisions) if (n > 1) (DUP++, add('DUP', `head revision ${key} committed ${n} times`));
  for (const [batchId, n] of snap.heardBy) if (n > 1) (DUP++, add('DUP', `batch ${batchId} completed by ${n} nodes`));
  for (const s of sessions) {
    const head = snap.heads.get(s) ?? 0;
    const replies = snap.assistants.get(s) ?? 0;
    if (head !== replies) (DUP++, add('DUP', `session ${s}: head ${head}, ${replies} committed replies`));
  }

  let FENCE = 0;
  let STALE = 0;
  const bySession = new Map<string, typeof commits>();
  for (const c of commits) bySession.set(c.sessionId, [...(bySession.get(c.sessionId) ?? []), c]);
  for (const [s, list] of bySession) {
    const holders = new Map<number, Set<number>>();
    for (const c of list) holders.set(c.fencingToken, (holders.get(c.fencingToken) ?? new Set()).add(c.pid));
    for (const [token, pids] of holders) if (pids.size > 1) (FENCE++, add('FENCE', `session ${s}: fencing token ${token} used by ${pids.size} processes`));
    const maxUsed = Math.max(...list.map((c) => c.fencingToken));
    if ((snap.leaseFencing.get(s) ?? 0) < maxUsed) (FENCE++, add('FENCE', `session ${s}: lease fencing ${snap.leaseFencing.get(s)} below used ${maxUsed}`));
    const ordered = [...list].sort((a, b) => a.headRevision - b.headRevision);
    let highest = 0;
    for (const c of ordered) {
      if (c.fencingToken < highest) (STALE++, add('STALE', `session ${s}: revision ${c.headRevision} committed with fencing ${c.fencingToken} after ${highest}`));
      highest = Math.max(highest, c.fencingToken);
    }
  }

  return {
    counters: {
      LOST,
      DUP,
      FENCE,
      STALE,
      committedFraction: shouldComplete === 0 ? 1 : Math.min(1, completed / shouldComplete),
      offeredBatches: world.accepted.size,
      completedBatches: completed,
      deadLettered: snap.deadLetters.length,
      commits: commits.length,
    },
    examples,
  };
}

/** The run counts only when every invariant holds and at least 90 % of what should commit did. */
export function passed(c: Counters): boolean {
  return c.LOST === 0 && c.DUP === 0 && c.FENCE === 0 && c.STALE === 0 && c.committedFraction >= 0.9;
}
