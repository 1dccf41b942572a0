/**
 * The one place where Postgres and connection failures become turnlane errors. Matches on
 * SQLSTATE codes and postgres.js error codes, never on message text.
 */
import { CommitOutcomeUnknownError, InvalidInputError, StoreUnavailableError, TurnlaneError } from '../../errors.js';
import type { Sql } from '../../../db/client.js';
import type { Db, Fragment, Tx } from './context.js';

/** postgres.js codes for a connection that is gone or never came up, plus the Node socket errors under them. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs meaning "the database is not serving us right now": class 08 (connection exception),
 * 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many connections),
 * 40001/40P01 (serialization failure, deadlock: retry the whole call).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '40001' || code === '40P01';
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function constraintName(err: unknown): string | undefined {
  const name = (err as { constraint_name?: unknown } | null)?.constraint_name;
  return typeof name === 'string' ? name : undefined;
}

/** SQLSTATE 23505 on the named constraint. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  return errorCode(err) === '23505' && constraintName(err) === constraint;
}

/** Maps a low-level failure; `duringCommit` turns a lost connection into CommitOutcomeUnknownError. */
export function mapStoreError(err: unknown, duringCommit = false): unknown {
  if (err instanceof TurnlaneError) return err;
  const code = errorCode(err);
  if (code === undefined) return err;
  if (CONNECTION_CODES.has(code) || isUnavailableSqlState(code)) {
    if (duringCommit && !code.startsWith('40')) {
      return new CommitOutcomeUnknownError('the connection was lost while the transaction was committing; retry the same stamped commit', { code }, { cause: err });
    }
    return new StoreUnavailableError('the database cannot be reached', { code }, { cause: err });
  }
  if (isUniqueViolation(err, 'session_nodes_session_id_node_id_pk') || code === '21000') {
    return new InvalidInputError('commit.state.graph.nodes: expected node ids not yet in the session and unique in the commit, got a duplicate', { code }, { cause: err });
  }
  return err;
}

/**
 * Runs one autocommit statement (or a few independent ones) and maps its failures. `duringCommit`:
 * the statement is a turn commit, so a connection lost after sending it is CommitOutcomeUnknownError.
 */
export async function runStatement<T>(body: () => Promise<T>, duringCommit = false): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw mapStoreError(err, duringCommit);
  }
}

/** SQLSTATE of `turnlane_refuse(reason)` (migration 0003). */
const REFUSED = 'TL000';

/** SQL: undoes the whole statement with `reason` (only where a CASE has decided that it must). */
export function refuse(db: Db, reason: string): Fragment {
  return db`turnlane_refuse(${reason}::text)`;
}

/** The statement was undone by `refuse(db, reason)`. */
export function isRefusal(err: unknown, reason: string): boolean {
  return errorCode(err) === REFUSED && (err as { message?: unknown }).message === reason;
}

/** Thrown inside a transaction body to roll back and make `runTransaction` return `value`. */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/**
 * Runs `body` in one transaction. Throwing a TurnlaneError rolls back and rethrows it; throwing a
 * `Rollback` rolls back and returns its value. A connection lost after the body finished (while
 * COMMIT was in flight) is CommitOutcomeUnknownError.
 */
export async function runTransaction<T>(sql: Sql, body: (tx: Tx) => Promise<T>): Promise<T> {
  let committing = false;
  try {
    return (await sql.begin(async (tx) => {
      const result = await body(tx as Tx);
      committing = true;
      return result;
    })) as T;
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw mapStoreError(err, committing);
  }
}
