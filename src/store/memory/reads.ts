/**
 * Session reads and metadata in the reference model (spec 02 "Reads, metadata, maintenance").
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { PersistedSessionRead, SessionMeta, SessionNode, SessionReadScope } from '../contract.js';
import { assertId, assertSessionId, assertSessionMeta } from '../validate.js';
import { checkpointRefOf, copy, type MemoryState, type SessionRow } from './state.js';


function assertScope(scope: unknown): asserts scope is SessionReadScope {
  const s = scope as Partial<{ kind: string; leafNodeId: unknown }> | null;
  if (typeof s !== 'object' || s === null || (s.kind !== 'full_graph' && s.kind !== 'active_path')) {
    throw InvalidInputError.field('scope.kind', "'full_graph' or 'active_path'", describeValue(s?.kind));
  }
  if (s.kind === 'active_path' && s.leafNodeId !== undefined && s.leafNodeId !== null) assertId(s.leafNodeId, 'scope.leafNodeId');
}

/**
 * The ancestry of `leafNodeId` through every stored node (tombstoned ones included, so hiding a
 * node does not cut its descendants off), root first, tombstoned ones then left out. Empty for
 * a null or unknown leaf.
 */
function activePath(session: SessionRow, leafNodeId: string | null): SessionNode[] {
  const byId = new Map(session.nodes.map((stored) => [stored.node.nodeId, stored]));
  const path: SessionNode[] = [];
  const visited = new Set<string>();
  let cursor = leafNodeId;
  while (cursor !== null && !visited.has(cursor)) {
    const stored = byId.get(cursor);
    if (!stored) break;
    visited.add(cursor);
    if (!stored.tombstoned) path.push(stored.node);
    cursor = stored.node.parentNodeId;
  }
  return path.reverse();
}

/** The committed session at the scope; null for a session never committed. */
export function sessionLoad(state: MemoryState, sessionId: string, scope: SessionReadScope): PersistedSessionRead | null {
  assertSessionId(sessionId);
  assertScope(scope);
  const session = state.sessions.get(sessionId);
  if (!session) return null;
  let nodes: SessionNode[];
  let leafNodeId = session.leafNodeId;
  if (scope.kind === 'full_graph') {
    nodes = session.nodes.filter((stored) => !stored.tombstoned).map((stored) => stored.node);
  } else {
    leafNodeId = scope.leafNodeId ?? session.leafNodeId;
    nodes = activePath(session, leafNodeId);
  }
  return copy({
    sessionId,
    headRevision: session.headRevision,
    graph: { nodes, leafNodeId },
    checkpoint: state.checkpoints.get(checkpointRefOf(sessionId, session.headRevision)) ?? null,
    agentFrames: session.agentFrames,
    currentAgentFrameId: session.currentAgentFrameId,
    usageLedger: session.usageLedger,
  });
}

/** One node of the session; null when missing or tombstoned. */
export function sessionLoadNode(state: MemoryState, sessionId: string, nodeId: string): SessionNode | null {
  assertSessionId(sessionId);
  assertId(nodeId, 'nodeId');
  const stored = state.sessions.get(sessionId)?.nodes.find((s) => s.node.nodeId === nodeId);
  return stored && !stored.tombstoned ? copy(stored.node) : null;
}


/** Upserts the session's metadata exactly as given. */
export function sessionSaveMeta(state: MemoryState, meta: SessionMeta): void {
  assertSessionMeta(meta);
  const relation = meta.relation.kind === 'root' ? { kind: 'root' as const } : { kind: 'child' as const, parentSessionId: meta.relation.parentSessionId };
  state.metas.set(meta.sessionId, {
    sessionId: meta.sessionId,
    sessionName: meta.sessionName,
    createdAt: meta.createdAt,
    model: meta.model,
    cwd: meta.cwd,
    relation,
  });
}

/** The session's metadata; null when never saved. */
export function sessionLoadMeta(state: MemoryState, sessionId: string): SessionMeta | null {
  assertSessionId(sessionId);
  const meta = state.metas.get(sessionId);
  return meta ? copy(meta) : null;
}
