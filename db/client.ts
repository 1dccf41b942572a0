/**
 * postgres.js and drizzle client factories. Every Postgres connection of turnlane is made here,
 * so every connection parses int8 the same way.
 */
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import * as schema from './schema.js';

export type Sql = postgres.Sql<{ bigint: number }>;

export interface SqlClientOptions {
  /** Pool size. Default 10 (postgres.js default). */
  maxConnections?: number;
  /** Seconds an idle connection is kept. Default 30: long enough for a worker's steady loop. */
  idleTimeoutSeconds?: number;
  /**
   * Postgres `idle_in_transaction_session_timeout` of every connection, in ms; 0 leaves the
   * server's setting. A client that stops between two statements of a transaction (SIGSTOP, a
   * stalled VM) keeps its row locks until then, and a session's next lease holder waits on them.
   */
  idleInTransactionTimeoutMs?: number;
}

/**
 * A postgres.js pool. int8 columns parse to `number`: every bigint we store is an epoch
 * millisecond, a sequence value or a counter, all far below 2^53. Prepared statements stay on
 * (the postgres.js default): the hot-path statements are parsed once per connection.
 */
export function createSqlClient(databaseUrl: string, options: SqlClientOptions = {}): Sql {
  return postgres(databaseUrl, {
    max: options.maxConnections ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    // postgres.js waits 30 s by default; while Postgres restarts every statement routed to a
    // connection that is reconnecting would wait that long (found by the postgres-restart chaos run).
    connect_timeout: 5,
    onnotice: () => {},
    ...(options.idleInTransactionTimeoutMs ? { connection: { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs } } : {}),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  }) as unknown as Sql;
}

/** A drizzle database over a postgres.js client, with the schema attached. */
export function createDrizzle(sql: postgres.Sql<Record<string, unknown>> | Sql) {
  return drizzle(sql as postgres.Sql, { schema });
}
