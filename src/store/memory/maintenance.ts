/**
 * Maintenance in the reference model: tombstones, vacuum of tombstoned nodes and expired
 * source-key memories, and garbage collection of checkpoints no head references.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { GcReport, VacuumReport } from '../contract.js';
import { assertId, assertSessionId } from '../validate.js';
import { checkpointRefOf, storeNow, type MemoryState } from './state.js';

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

/** Physically removes tombstoned nodes and expired source-key memories; reports only what this call removed. */
export function maintenanceVacuum(state: MemoryState): VacuumReport {
  const now = storeNow(state);
  let removedNodeCount = 0;
  for (const session of state.sessions.values()) {
    const kept = session.nodes.filter((stored) => !stored.tombstoned);
    removedNodeCount += session.nodes.length - kept.length;
    session.nodes = kept;
  }
  let removedSourceKeyCount = 0;
  for (const [key, memory] of state.sourceKeyMemories) {
    if (now - memory.finishedAtMs >= state.sourceKeyRetentionMs) {
      state.sourceKeyMemories.delete(key);
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
