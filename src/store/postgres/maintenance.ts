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
 * vacuum: deletes tombstoned nodes and source-key memories older than the retention, in one
 * statement. Returns what this call removed.
 */
export async function storeVacuum(ctx: PgContext): Promise<VacuumReport> {
  const [row] = await runStatement(
    () => ctx.sql<{ nodes: number; keys: number }[]>`
      with nodes as (
        delete from session_nodes where tombstoned returning 1
      ), keys as (
        delete from source_keys
        where status <> 'queued' and finished_at_ms <= ${ctx.clock.now()} - ${ctx.sourceKeyRetentionMs}::bigint
        returning 1
      )
      select (select count(*) from nodes) as nodes, (select count(*) from keys) as keys`,
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
