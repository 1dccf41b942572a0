/**
 * The only reader of process.env. Every variable is listed in .env.example with its default.
 * All problems are reported at once.
 */
import { z } from 'zod';

const schema = z.object({
  /** Postgres URL; the database is created if missing. */
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/turnlane'),
  /** Redis URL for BullMQ. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}
