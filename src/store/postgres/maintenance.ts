/**
 * Maintenance in Postgres (spec 02 "Reads, metadata, maintenance"): tombstones, vacuum and the
 * checkpoint collector.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { GcReport, VacuumReport } from '../contract.js';
import { assertId, assertSessionId } from '../validate.js';
import type { PgContext } from './context.js';
import { textArray } from './arrays.js';
import { runStatement } from './errors.js';

/** tombstoneNodes: hides the named nodes of the session from every read; unknown ids are ignored. Rows touched: those nodes. */
export async function nodesTombstone(ctx: PgContext, sessionId: string, nodeIds: string[]): Promise<void> {
  assertSessionId(sessionId);
  if (!Array.isArray(nodeIds)) throw InvalidInputError.field('nodeIds', 'an array of node ids', describeValue(nodeIds));
  nodeIds.forEach((id, i) => assertId(id, `nodeIds[${i}]`));
  if (nodeIds.length === 0) return;
  await runStatement(
    () => ctx.sql`
      update session_nodes set tombstoned = true
      where session_id = ${sessionId} and node_id = any(${textArray(ctx.sql, nodeIds)}) and not tombstoned`,
  );
}

/**
 * vacuum, one statement: deletes tombstoned nodes, except each session's stored leaf (a turn
 * appends below it, so it stays until a commit moves the leaf), and source-key memories older
 * than the retention. Every kept node whose parent is deleted is re-linked (parent_node_id and the
 * node's parentNodeId) to its nearest kept ancestor, walking up through deleted ones (null when
 * there is none, or the deleted ones form a cycle): an active path reads the same before and after.
 * Rows touched: the deleted and the re-linked session_nodes, the expired source_keys. Returns
 * what this call removed.
 */
export async function storeVacuum(ctx: PgContext): Promise<VacuumReport> {
  const [row] = await runStatement(
    () => ctx.sql<{ nodes: number; keys: number }[]>`
      with recursive doomed as (
        select n.session_id, n.node_id, n.parent_node_id
        from session_nodes n left join sessions s on s.session_id = n.session_id
        where n.tombstoned and n.node_id is distinct from s.leaf_node_id
      ), walk as (
        select c.session_id, c.node_id, c.parent_node_id as next_parent, 0 as depth
        from session_nodes c
        where exists (select 1 from doomed d where d.session_id = c.session_id and d.node_id = c.parent_node_id)
          and not exists (select 1 from doomed d where d.session_id = c.session_id and d.node_id = c.node_id)
        union all
        select w.session_id, w.node_id, d.parent_node_id, w.depth + 1
        from walk w join doomed d on d.session_id = w.session_id and d.node_id = w.next_parent
      ) cycle session_id, node_id, next_parent set is_cycle using visited,
      relink as (
        select distinct on (w.session_id, w.node_id) w.session_id, w.node_id,
          case when w.is_cycle then null else w.next_parent end as new_parent
        from walk w
        where w.is_cycle or not exists (select 1 from doomed d where d.session_id = w.session_id and d.node_id = w.next_parent)
        order by w.session_id, w.node_id, w.depth
      ), moved as (
        update session_nodes n
        set parent_node_id = r.new_parent, node = jsonb_set(n.node, '{parentNodeId}', coalesce(to_jsonb(r.new_parent), 'null'::jsonb))
        from relink r where n.session_id = r.session_id and n.node_id = r.node_id
        returning 1
      ), nodes as (
        delete from session_nodes n using doomed d where n.session_id = d.session_id and n.node_id = d.node_id
        returning 1
      ), keys as (
        delete from source_keys
        where status <> 'queued' and finished_at_ms <= ${ctx.clock.now()} - ${ctx.sourceKeyRetentionMs}::bigint
        returning 1
      )
      select (select count(*) from nodes) as nodes, (select count(*) from keys) as keys, (select count(*) from moved) as moved`,
  );
  return { removedNodeCount: row!.nodes, removedSourceKeyCount: row!.keys };
}

/**
 * gcUnreachable: deletes every stored checkpoint that is not a session's head checkpoint.
 * Reports sessions with a head (roots), checkpoints kept and checkpoints deleted.
 */
export async function checkpointsCollect(ctx: PgContext): Promise<GcReport> {
  const [row] = await runStatement(
    () => ctx.sql<{ roots: number; total: number; deleted: number }[]>`
      with deleted as (
        delete from checkpoints c
        where not exists (select 1 from sessions s where s.session_id = c.session_id and s.head_revision = c.revision)
        returning 1
      )
      select (select count(*) from sessions) as roots, (select count(*) from checkpoints) as total,
        (select count(*) from deleted) as deleted`,
  );
  return { rootCount: row!.roots, retainedCount: row!.total - row!.deleted, deletedCount: row!.deleted };
}
