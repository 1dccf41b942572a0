/**
 * Session reads and metadata in Postgres (spec 02 "Reads, metadata"). A load is one statement, so
 * every part comes from one snapshot.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { AgentFrame, Checkpoint, PersistedSessionRead, SessionMeta, SessionNode, SessionReadScope, TokenLedgerEntry } from '../contract.js';
import { assertId, assertSessionId, assertSessionMeta } from '../validate.js';
import type { Db, Fragment, PgContext } from './context.js';
import { runStatement } from './errors.js';

export interface LoadRow {
  head_revision: number;
  leaf_node_id: string | null;
  current_agent_frame_id: string | null;
  checkpoint: Record<string, unknown> | null;
  execution_state: string | null;
  frames: Array<{ frame: Record<string, unknown>; snapshot: string | null }>;
  usage: TokenLedgerEntry[];
  nodes: Array<{ node: SessionNode; tombstoned: boolean }>;
}

function assertScope(scope: unknown): asserts scope is SessionReadScope {
  const s = scope as Partial<{ kind: string; leafNodeId: unknown }> | null;
  if (typeof s !== 'object' || s === null || (s.kind !== 'full_graph' && s.kind !== 'active_path')) {
    throw InvalidInputError.field('scope.kind', "'full_graph' or 'active_path'", describeValue(s?.kind));
  }
  if (s.kind === 'active_path' && s.leafNodeId !== undefined && s.leafNodeId !== null) assertId(s.leafNodeId, 'scope.leafNodeId');
}

function bytesFromBase64(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/**
 * load: the head, the head checkpoint, agent frames, usage ledger and the nodes of the scope.
 * full_graph: non-tombstoned nodes in insertion order. active_path: the ancestry of the leaf
 * (explicit, else stored) walked through every stored node by a recursive CTE, root first,
 * tombstoned ones then left out; an unknown leaf gives no nodes. Null for a session never committed.
 */
export async function sessionLoad(ctx: PgContext, sessionId: string, scope: SessionReadScope): Promise<PersistedSessionRead | null> {
  assertSessionId(sessionId);
  assertScope(scope);
  const rows = await runStatement(() => sessionLoadQuery(ctx.sql, sessionId, scope) as unknown as Promise<LoadRow[]>);
  return rows[0] ? sessionFromLoadRow(sessionId, scope, rows[0]) : null;
}

/** The load's select (no row for a session never committed); also a part of the drain's first statement (lease-first.ts). */
export function sessionLoadQuery(sql: Db, sessionId: string, scope: SessionReadScope): Fragment {
  const explicitLeaf = scope.kind === 'active_path' ? (scope.leafNodeId ?? null) : null;
  const nodes =
    scope.kind === 'full_graph'
      ? sql`(select coalesce(jsonb_agg(jsonb_build_object('node', n.node, 'tombstoned', false) order by n.revision, n.position), '[]'::jsonb)
          from session_nodes n where n.session_id = s.session_id and not n.tombstoned)`
      : sql`(with recursive path as (
            select n.node_id, n.parent_node_id, n.node, n.tombstoned, 0 as depth from session_nodes n
            where n.session_id = s.session_id and n.node_id = coalesce(${explicitLeaf}::text, s.leaf_node_id)
            union all
            select n.node_id, n.parent_node_id, n.node, n.tombstoned, p.depth + 1 from session_nodes n
            join path p on n.session_id = s.session_id and n.node_id = p.parent_node_id
          ) cycle node_id set is_cycle using visited
          select coalesce(jsonb_agg(jsonb_build_object('node', path.node, 'tombstoned', path.tombstoned) order by path.depth desc), '[]'::jsonb)
          from path where not path.is_cycle)`;
  return sql`
      select s.head_revision, s.leaf_node_id, s.current_agent_frame_id, c.checkpoint, encode(c.execution_state, 'base64') as execution_state,
        (select coalesce(jsonb_agg(jsonb_build_object('frame', f.frame, 'snapshot', encode(f.execution_state_snapshot, 'base64')) order by f.position), '[]'::jsonb)
          from agent_frames f where f.session_id = s.session_id and f.revision = s.head_revision) as frames,
        (select coalesce(jsonb_agg(jsonb_build_object('source', u.source, 'model', u.model, 'usage', jsonb_build_object(
            'inputTokens', u.input_tokens, 'outputTokens', u.output_tokens, 'cachedInputTokens', u.cached_input_tokens,
            'reasoningTokens', u.reasoning_tokens)) order by u.revision, u.position), '[]'::jsonb)
          from usage_ledger u where u.session_id = s.session_id) as usage,
        ${nodes} as nodes
      from sessions s left join checkpoints c on c.session_id = s.session_id and c.revision = s.head_revision
      where s.session_id = ${sessionId}`;
}

/** The session as the load's row describes it. */
export function sessionFromLoadRow(sessionId: string, scope: SessionReadScope, row: LoadRow): PersistedSessionRead {
  let checkpoint: Checkpoint | null = null;
  if (row.checkpoint) {
    checkpoint = { ...(row.checkpoint as unknown as Checkpoint) };
    if (row.execution_state !== null) checkpoint.executionState = bytesFromBase64(row.execution_state);
  }
  const agentFrames = row.frames.map(({ frame, snapshot }) => {
    const restored = { ...frame } as unknown as AgentFrame;
    if (snapshot !== null) restored.executionStateSnapshot = bytesFromBase64(snapshot);
    return restored;
  });
  const explicitLeaf = scope.kind === 'active_path' ? (scope.leafNodeId ?? null) : null;
  const leafNodeId = scope.kind === 'full_graph' ? row.leaf_node_id : (explicitLeaf ?? row.leaf_node_id);
  return {
    sessionId,
    headRevision: row.head_revision,
    graph: { nodes: row.nodes.filter((n) => !n.tombstoned).map((n) => n.node), leafNodeId },
    checkpoint,
    agentFrames,
    currentAgentFrameId: row.current_agent_frame_id,
    usageLedger: row.usage,
  };
}

/** loadNode: one node of the session; null when missing or tombstoned. Rows touched: none. */
export async function sessionLoadNode(ctx: PgContext, sessionId: string, nodeId: string): Promise<SessionNode | null> {
  assertSessionId(sessionId);
  assertId(nodeId, 'nodeId');
  const rows = await runStatement(
    () => ctx.sql<{ node: SessionNode }[]>`
      select node from session_nodes where session_id = ${sessionId} and node_id = ${nodeId} and not tombstoned`,
  );
  return rows[0]?.node ?? null;
}


/** saveMeta: upserts the session_meta row exactly as given. */
export async function sessionSaveMeta(ctx: PgContext, meta: SessionMeta): Promise<void> {
  assertSessionMeta(meta);
  const relation = meta.relation.kind === 'root' ? { kind: 'root' } : { kind: 'child', parentSessionId: meta.relation.parentSessionId };
  await runStatement(
    () => ctx.sql`
      insert into session_meta (session_id, session_name, created_at, model, cwd, relation)
      values (${meta.sessionId}, ${meta.sessionName}, ${meta.createdAt}::bigint, ${meta.model}, ${meta.cwd}::text, ${JSON.stringify(relation)}::text::jsonb)
      on conflict (session_id) do update set session_name = excluded.session_name, created_at = excluded.created_at,
        model = excluded.model, cwd = excluded.cwd, relation = excluded.relation`,
  );
}

/** loadMeta: the session's metadata; null when never saved. */
export async function sessionLoadMeta(ctx: PgContext, sessionId: string): Promise<SessionMeta | null> {
  assertSessionId(sessionId);
  const rows = await runStatement(
    () => ctx.sql<{ session_name: string; created_at: number; model: string; cwd: string | null; relation: SessionMeta['relation'] }[]>`
      select session_name, created_at, model, cwd, relation from session_meta where session_id = ${sessionId}`,
  );
  const row = rows[0];
  if (!row) return null;
  return { sessionId, sessionName: row.session_name, createdAt: row.created_at, model: row.model, cwd: row.cwd, relation: row.relation };
}
