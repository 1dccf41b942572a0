/**
 * Test support: hold one queued batch's row lock from a separate connection, so a test can make a
 * concurrent statement wait on that row and then change the row under it. Used by the race tests
 * that prove single-statement claims and commits undo themselves when a selected row changed.
 */
import postgres from 'postgres';

export interface BatchRowHold {
  /**
   * Commits the holding transaction, first making the batch unavailable until `availableAtMs`
   * and/or clearing its claim (`dropClaim`), if asked.
   */
  release(options?: { availableAtMs?: number; dropClaim?: boolean }): Promise<void>;
  /** Sessions waiting on a lock in this database (to know the raced statement is blocked). */
  waiting(): Promise<number>;
}

export async function holdBatchRow(databaseUrl: string, batchId: string): Promise<BatchRowHold> {
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const tx = await sql.reserve();
  await tx`begin`;
  await tx`select 1 from queued_batches where batch_id = ${batchId} for update`;
  return {
    async release(options = {}) {
      try {
        if (options.availableAtMs !== undefined) {
          await tx`update queued_batches set available_at_ms = ${options.availableAtMs} where batch_id = ${batchId}`;
        }
        if (options.dropClaim) {
          await tx`update queued_batches set claim_id = null, claim_token = null, claim_owner = null, claimed_at_ms = null, claim_expires_at_ms = null where batch_id = ${batchId}`;
        }
        await tx`commit`;
      } finally {
        tx.release();
        await sql.end();
      }
    },
    async waiting() {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      return row?.n ?? 0;
    },
  };
}
