import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../db/migrate.js';
import { dropDatabase } from '../../db/databases.js';
import { ADMIN_URL, databaseUrl } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Builds this run's migrated template database, which every test database is copied from.
 * The name is unique per run, so two test runs on one machine never touch each other's data.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `turnlane_tpl_${randomBytes(4).toString('hex')}`;
  await migrate(databaseUrl(template));
  project.provide('templateDatabase', template);
  return () => dropDatabase(ADMIN_URL, template);
}
