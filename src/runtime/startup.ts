/**
 * Start-up checks of a worker or server: wait for Postgres and Redis for a bounded time
 * (STARTUP_TIMEOUT_MS), logging once that it waits and for what, then give up with one line
 * naming the dependency, its address and the last error. A supervisor restarts a process that
 * exits; it never restarts one that hangs (a worker started with Redis down used to wait forever).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { TurnlaneError } from '../errors.js';

/** Postgres or Redis did not answer within the start-up bound. */
export class DependencyUnavailableError extends TurnlaneError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
}

/** How often an unanswered dependency is tried again while waiting. */
const RETRY_MS = 250;

export interface DependencyCheck {
  /** `Postgres` or `Redis`: named in the log and in the error. */
  name: string;
  /** Where it was looked for, without credentials. */
  address: string;
  /** Resolves when the dependency answers. */
  probe(): Promise<unknown>;
}

/** `host:port/db` of a URL, never its user or password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? '6379' : '5432')}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** Resolves once every check has answered; throws DependencyUnavailableError after `timeoutMs`. */
export async function waitForDependencies(checks: DependencyCheck[], timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const check of checks) {
    let warned = false;
    for (;;) {
      try {
        await check.probe();
        if (warned) log.info({ dependency: check.name, address: check.address }, `${check.name} answers`);
        break;
      } catch (err) {
        const reason = reasonOf(err);
        if (Date.now() + RETRY_MS > deadline) {
          throw new DependencyUnavailableError(`${check.name} at ${check.address} did not answer within ${timeoutMs} ms (STARTUP_TIMEOUT_MS): ${reason}`, {
            dependency: check.name,
            address: check.address,
          });
        }
        if (!warned) {
          log.warn({ dependency: check.name, address: check.address, reason, timeoutMs }, `${check.name} does not answer; waiting up to ${timeoutMs} ms before exiting`);
          warned = true;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }
}

/** One PING on a connection of its own that neither retries nor queues, then closed. */
export async function pingRedis(url: string, timeoutMs = 2_000): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: timeoutMs });
  // Reported by the rejection below, not by ioredis on stderr; the socket's error says more than "Connection is closed".
  let socketError: unknown;
  redis.on('error', (err) => (socketError = err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw socketError ?? err;
  } finally {
    redis.disconnect();
  }
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
