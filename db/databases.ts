/**
 * Whole-database operations for tests, benchmarks and chaos runs: each gets its own database,
 * copied from a migrated template and dropped afterwards. Identifiers are quoted by postgres.js.
 */
import postgres from 'postgres';

/** SQLSTATE object_in_use: two copies of one template at the same instant. */
const OBJECT_IN_USE = '55006';

function adminClient(adminUrl: string) {
  return postgres(adminUrl, { max: 1, onnotice: () => {} });
}

/** CREATE DATABASE name TEMPLATE template, retrying while another copy of the template is in progress. */
export async function copyDatabase(adminUrl: string, name: string, template: string): Promise<void> {
  const sql = adminClient(adminUrl);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await sql`create database ${sql(name)} template ${sql(template)}`;
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== OBJECT_IN_USE || attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
    }
  } finally {
    await sql.end();
  }
}

/** DROP DATABASE IF EXISTS name WITH (FORCE): ends the database's open connections first. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const sql = adminClient(adminUrl);
  try {
    await sql`drop database if exists ${sql(name)} with (force)`;
  } finally {
    await sql.end();
  }
}

/**
 * Empties every table of the database's public schema (a cheap reset between model-test runs).
 * DELETE, not TRUNCATE: on the project machine TRUNCATE of the ~15 tables took 150–280 ms (it
 * recreates every table's files), DELETE of the few rows a model run leaves under 1 ms.
 */
export async function truncateAllTables(databaseUrl: string): Promise<void> {
  const sql = adminClient(databaseUrl);
  try {
    const tables = await sql<{ name: string }[]>`select tablename as name from pg_tables where schemaname = 'public'`;
    await sql.begin((tx) => tables.map((t) => tx`delete from ${tx(t.name)}`));
  } finally {
    await sql.end();
  }
}
