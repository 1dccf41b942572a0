/**
 * Statement counts for P9 from pg_stat_statements on the bench's own server
 * (bench/private-postgres.ts), split by role: the workers connect as `postgres`, the producer
 * and the peer's job inserts as `bench_producer`, these reads as `bench_observer`, so "the
 * workers' statements" are exactly the `postgres` role's. Utility statements (BEGIN, COMMIT,
 * LISTEN) count too (pg_stat_statements.track_utility's default): each is a round trip.
 *
 * The SQL lives here rather than in src/store/postgres/bench-seed.ts only because this work was
 * done while src/ was being rewritten by someone else; it belongs beside the other bench SQL.
 */
import type { Sql } from '../db/client.js';

export const PRODUCER_ROLE = 'bench_producer';
export const OBSERVER_ROLE = 'bench_observer';

/** Creates pg_stat_statements in the current database and the two bench roles (a fresh cluster). */
export async function statementStatsSetup(sql: Sql): Promise<void> {
  await sql`create extension if not exists pg_stat_statements`;
  for (const role of [PRODUCER_ROLE, OBSERVER_ROLE]) {
    const [exists] = await sql`select 1 from pg_roles where rolname = ${role}`;
    if (!exists) await sql`create role ${sql(role)} login superuser`;
  }
}

export async function statementStatsReset(sql: Sql): Promise<void> {
  await sql`select pg_stat_statements_reset()`;
}

export interface StatementCount {
  role: string;
  query: string;
  calls: number;
}

/** Every statement of the current database since the last reset, with its role and calls. */
export async function statementStatsRead(sql: Sql): Promise<StatementCount[]> {
  return sql<StatementCount[]>`
    select r.rolname as role, s.query, s.calls::int as calls
    from pg_stat_statements s join pg_roles r on r.oid = s.userid
    where s.dbid = (select oid from pg_database where datname = current_database())
    order by s.calls desc`;
}

/**
 * A renewal (heartbeat) statement: it updates, and every UPDATE in it sets only columns named
 * `…expires_at_ms` (today's lease renewal and claim renewal; a fused renewal of every lease and
 * claim would be one such statement). Claims, commits and releases set other columns too.
 */
export function isRenewal(query: string): boolean {
  const text = query.toLowerCase().replace(/--[^\n]*/g, ' ').replace(/\s+/g, ' ');
  if (/\binsert into\b|\bdelete from\b/.test(text)) return false;
  const starts = [...text.matchAll(/\bupdate [a-z_."]+(?: (?:as )?[a-z_]+)? set /g)].map((m) => m.index! + m[0].length);
  return starts.length > 0 && starts.every((from) => setList(text, from).every((assignment) => /^"?[a-z_]*expires_at_ms"? ?=/.test(assignment.trim())));
}

/** The assignments of a SET list starting at `from`: up to WHERE, FROM or RETURNING at its own depth, or its closing parenthesis. */
function setList(text: string, from: number): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (depth === 0 && /^ (where|from|returning) /.test(text.slice(i, i + 12))) break;
    if (ch === '(') depth++;
    if (ch === ')' && --depth < 0) break;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}
