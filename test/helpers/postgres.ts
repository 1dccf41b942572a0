/**
 * Isolated Postgres databases for tests. Global setup migrates one template database per run;
 * each test store gets its own database copied from it, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { copyDatabase, dropDatabase } from '../../db/databases.js';

export const ADMIN_URL = process.env.TURNLANE_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `turnlane_t_${randomBytes(6).toString('hex')}`;
  await copyDatabase(ADMIN_URL, name, inject('templateDatabase'));
  return { name, url: databaseUrl(name), drop: () => dropDatabase(ADMIN_URL, name) };
}
