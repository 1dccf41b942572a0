/**
 * Store time for Postgres: the database clock (transaction time, `now()`) plus the store's test
 * offset. Every expiry and availability decision embeds `clock.now()` in its statement, so no
 * decision ever reads the process clock.
 */
import { InvalidInputError, describeValue } from '../../errors.js';
import type { Sql } from '../../../db/client.js';
import type { Fragment } from './context.js';
import { runStatement } from './errors.js';

export class StoreClock {
  private offsetMs = 0;

  constructor(private readonly sql: Sql) {}

  /** SQL for "now" in store epoch milliseconds; the offset travels as a parameter, so the statement text stays stable (prepared once). */
  now(): Fragment {
    return this.sql`(floor(extract(epoch from now()) * 1000)::bigint + ${this.offsetMs}::bigint)`;
  }

  /** Reads store time: the database clock plus the offset. */
  async nowMs(): Promise<number> {
    return runStatement(async () => {
      const [row] = await this.sql<{ now_ms: number }[]>`select ${this.now()} as now_ms`;
      return row!.now_ms;
    });
  }

  /** Shifts store time forward for tests; negative or non-integer values are InvalidInputError. */
  advance(ms: number): void {
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
      throw InvalidInputError.field('ms', 'a non-negative integer number of milliseconds', describeValue(ms));
    }
    this.offsetMs += ms;
  }
}
