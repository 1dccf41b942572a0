/**
 * What every Postgres segment shares: the pool, the store clock, the limits and the source-key
 * retention. Built once by createPostgresStore.
 */
import type postgres from 'postgres';
import type { Sql } from '../../../db/client.js';
import type { Limits } from '../contract.js';
import type { StoreClock } from './clock.js';

/** A transaction handle, as given by `sql.begin`. */
export type Tx = postgres.TransactionSql<{ bigint: number }>;
/** Either the pool or a transaction: statements that may run inside a larger transaction take this. */
export type Db = Sql | Tx;
/** A nested SQL fragment built with the tagged template. */
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

export interface PgContext {
  sql: Sql;
  clock: StoreClock;
  limits: Limits;
  /** How long a finished batch's source key is remembered, in milliseconds. */
  sourceKeyRetentionMs: number;
  /** Enqueue to a session without a task-session record is allowed (true) or SessionNotFoundError (false). */
  implicitSessions: boolean;
  /** How long closed and expired task-session records are kept before cleanup, in milliseconds. */
  taskSessionRetentionMs: number;
}
