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
    onnotice: () => {},
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
