/**
 * Maintenance in the reference model: tombstones, vacuum of tombstoned nodes and expired
 * source-key memories, and garbage collection of checkpoints no head references.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { GcReport, VacuumReport } from '../contract.js';
import { assertId, assertSessionId } from '../validate.js';
import { checkpointRefOf, storeNow, type MemoryState, type SessionRow, type StoredNode } from './state.js';

/** Hides the named nodes of the session from every read; unknown ids (and sessions) are ignored. */
export function maintenanceTombstoneNodes(state: MemoryState, sessionId: string, nodeIds: string[]): void {
  assertSessionId(sessionId);
  if (!Array.isArray(nodeIds)) throw InvalidInputError.field('nodeIds', 'an array of node ids', describeValue(nodeIds));
  nodeIds.forEach((id, i) => assertId(id, `nodeIds[${i}]`));
  const session = state.sessions.get(sessionId);
  if (!session) return;
  const targets = new Set(nodeIds);
  for (const stored of session.nodes) if (targets.has(stored.node.nodeId)) stored.tombstoned = true;
}

/**
 * The nodes vacuum removes from one session: tombstoned ones, except the stored leaf (a turn
 * appends below it, so it must stay until a commit moves the leaf). Each kept node whose parent
 * is removed is re-linked to its nearest kept ancestor (null when there is none), so every active
 * path reads the same before and after: a → b → c with b tombstoned reads [a, c] both times.
 */
function vacuumSession(session: SessionRow): number {
  const byId = new Map(session.nodes.map((stored) => [stored.node.nodeId, stored]));
  const doomed = (id: string | null): boolean => id !== null && id !== session.leafNodeId && byId.get(id)?.tombstoned === true;
  const kept: StoredNode[] = [];
  for (const stored of session.nodes) {
    if (doomed(stored.node.nodeId)) continue;
    let parent = stored.node.parentNodeId;
    const seen = new Set<string>();
    while (parent !== null && doomed(parent)) {
      if (seen.has(parent)) {
        parent = null; // a cycle of removed nodes leads to no kept ancestor
        break;
      }
      seen.add(parent);
      parent = byId.get(parent)!.node.parentNodeId;
    }
    if (parent !== stored.node.parentNodeId) stored.node = { ...stored.node, parentNodeId: parent };
    kept.push(stored);
  }
  const removed = session.nodes.length - kept.length;
  session.nodes = kept;
  return removed;
}

/** Physically removes tombstoned nodes (see vacuumSession) and expired source-key memories; reports only what this call removed. */
export function maintenanceVacuum(state: MemoryState): VacuumReport {
  const now = storeNow(state);
  let removedNodeCount = 0;
  for (const session of state.sessions.values()) removedNodeCount += vacuumSession(session);
  let removedSourceKeyCount = 0;
  for (const [key, memory] of state.sourceKeyMemories) {
    if (now - memory.finishedAtMs >= state.sourceKeyRetentionMs) {
      state.sourceKeyMemories.delete(key);
      state.sourceKeyHashes.delete(key);
      removedSourceKeyCount += 1;
    }
  }
  return { removedNodeCount, removedSourceKeyCount };
}

/** Deletes every stored checkpoint that is not a session's head checkpoint; a second run deletes nothing. */
export function maintenanceGcUnreachable(state: MemoryState): GcReport {
  const heads = new Set<string>();
  for (const session of state.sessions.values()) heads.add(checkpointRefOf(session.sessionId, session.headRevision));
  let deletedCount = 0;
  for (const ref of state.checkpoints.keys()) {
    if (heads.has(ref)) continue;
    state.checkpoints.delete(ref);
    deletedCount += 1;
  }
  return { rootCount: heads.size, retainedCount: state.checkpoints.size, deletedCount };
}
