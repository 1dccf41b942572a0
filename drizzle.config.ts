/**
 * drizzle-kit configuration: `npx drizzle-kit generate` writes db/migrations/ from db/schema.ts.
 * The generated files are committed and never hand-edited; CI checks that generating again
 * produces no diff. SQL the schema cannot express (the turnlane_refuse function) lives in a
 * migration made with `drizzle-kit generate --custom`.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
});
