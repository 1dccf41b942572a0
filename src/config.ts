/**
 * The only reader of process.env. Every variable is listed in .env.example with its default.
 * All problems are reported at once.
 */
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const hexList = () =>
  z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 hex digits (SHA-256)')));

const schema = z.object({
  /** Postgres URL; the database is created if missing. */
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/turnlane'),
  /** Redis URL for BullMQ. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** BullMQ queue name. */
  TURNLANE_QUEUE: z.string().regex(/^[A-Za-z0-9._-]+$/).default('turnlane.turns'),
  /** Redis key prefix; keep the {braces}: a Redis Cluster hash tag. */
  TURNLANE_PREFIX: z.string().min(1).default('{turnlane}'),
  /**
   * Postgres connections per process. postgres.js pipelines statements on a connection, and a
   * worker's claims and commits are single statements, so a few connections carry all its job
   * slots; more only add backends competing for the database's cores. P4 on 2 cores, 4 workers ×
   * 16 slots: 2 → 777, 3 → 753, 4 → 686, 10 → 592, 16 → 559 turns/s. Raise it for a server with
   * many concurrent requests or a database with many cores.
   */
  PG_MAX_CONNECTIONS: int(2, 1),
  /** BullMQ job slots per worker process. */
  WORKER_CONCURRENCY: int(16, 1),
  /** Session lease and claim TTL (ms). */
  LEASE_TTL_MS: int(15_000, 100),
  /** Turns per lease before other sessions go first. */
  MAX_TURNS_PER_LEASE: int(16, 1),
  /** Batches one turn may join. */
  MAX_BATCHES_PER_TURN: int(16, 1),
  /** Failed turns before a batch is dead-lettered. */
  MAX_ATTEMPTS: int(3, 1),
  /** Run a turn whose batch's last attempt died with its worker alone in its process (src/runtime/isolation.ts): 1 or 0. */
  ISOLATE_SUSPECT_TURNS: z
    .enum(['1', '0'])
    .default('1')
    .transform((v) => v === '1'),
  /**
   * Where turn handlers run (src/runtime/sandbox/pool.ts): `off` in the worker process; `suspects`
   * runs a turn whose last attempt died with its worker in a sandbox process of its own; `all`
   * runs every turn in a sandbox process, so a handler that ends its process never ends the worker.
   */
  TURN_SANDBOX: z.enum(['off', 'suspects', 'all']).default('off'),
  /** The agent this worker runs, stated with every tool call (a task session of another agent refuses it); empty: none stated. */
  WORKER_AGENT_ID: z.string().default(''),
  /** Grace for turns in flight on SIGTERM (ms). */
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  /** Reconciler period (ms); 0 disables it in this process. */
  RECONCILE_INTERVAL_MS: int(5_000, 0),
  /** How often a worker reclaims and drains sessions of dead processes on its host (ms); 0 disables it. */
  RESCUE_INTERVAL_MS: int(250, 0),
  /** BullMQ stalled-job check period (ms). */
  STALLED_INTERVAL_MS: int(5_000, 100),
  /** Demo agent: how long it "thinks" per step (ms). */
  DEMO_THINK_MS: int(50, 0),
  /** API server: interface to bind (`--insecure-local` forces 127.0.0.1). */
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  /** API server: TCP port; 0 picks a free one. */
  HTTP_PORT: int(8080, 0).pipe(z.number().max(65_535)),
  /** API server: largest request body in bytes (a batch is at most 256 KiB of payload JSON). */
  HTTP_BODY_LIMIT_BYTES: int(1_048_576, 1024),
  /** API server: open event streams per caller (API key or operator); more answer 429 TOO_MANY_STREAMS. */
  EVENT_STREAMS_PER_CALLER: int(32, 1),
  /** API server: open event streams per server process; more answer 429 TOO_MANY_STREAMS. */
  EVENT_STREAMS_PER_SERVER: int(512, 1),
  /**
   * API server: ms a client has to send a whole request (headers and body); slower ones are
   * answered 408 and closed. 30 s: a 1 MiB body needs only 35 KB/s; 1,000 connections trickling a
   * body were all held with no limit (issue 14).
   */
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 1000),
  /** API server: ms an idle keep-alive connection stays open between requests. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000, 100),
  /** API server: ms of socket inactivity after which any connection is closed (event streams send a keepalive every 15 s). */
  HTTP_CONNECTION_TIMEOUT_MS: int(60_000, 1000),
  /**
   * Producer API keys of the default tenant: comma-separated lowercase hex SHA-256 of each key
   * (`printf %s KEY | sha256sum`). Keys of other tenants live in Postgres (`turnlane keys create`).
   */
  API_KEY_SHA256: hexList(),
  /**
   * Operators for /admin and dead letters: comma-separated `user:<hash>`, the hash as printed by
   * `turnlane hash-password` (salted scrypt). `user:<sha256-hex-of-password>` is still accepted for
   * one release, with a warning at startup.
   */
  OPERATOR_CREDENTIALS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^[^:\s]{1,64}:([0-9a-f]{64}|\$scrypt\$N=\d{1,7}\$r=\d{1,2}\$p=\d{1,2}\$[A-Za-z0-9_-]{16,64}\$[A-Za-z0-9_-]{32,128})$/,
            'expected user:<hash from turnlane hash-password> (or the deprecated user:<64 hex digits>)',
          ),
      ),
    ),
  /** Secret that signs operator login and CSRF cookies; empty: a random one per process (logins end on restart). */
  OPERATOR_SESSION_SECRET: z.string().default(''),
  /** Failed operator logins (form or Basic) per user name per window before 429 LOGIN_THROTTLED. */
  OPERATOR_LOGIN_FAILURES_PER_USER: int(10, 1),
  /** Failed operator logins per client address per window before 429 LOGIN_THROTTLED. */
  OPERATOR_LOGIN_FAILURES_PER_ADDRESS: int(20, 1),
  /** The failed-login window (ms); a throttled user or address may try again when it ends. */
  OPERATOR_LOGIN_WINDOW_MS: int(900_000, 1000),
  /**
   * Reverse proxies (comma-separated addresses or CIDRs) whose X-Forwarded-For and
   * X-Forwarded-Proto are believed: the client address for throttling, and https for `Secure`
   * cookies. Empty: none (the direct peer is the client).
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  /** Bull Board at /admin/queues shows jobs but offers no retry/remove/clean buttons. */
  BULL_BOARD_READ_ONLY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** Queued batches one session may hold; more enqueues answer 429 SESSION_QUEUE_FULL (a replay of an Idempotency-Key still answers). */
  MAX_QUEUED_BATCHES_PER_SESSION: int(1000, 1),
  /** Active task sessions one agent may hold, checked atomically on create; 0: no cap. */
  MAX_ACTIVE_SESSIONS_PER_AGENT: int(0, 0),
  /** Worker: TCP port of its own Prometheus /metrics on 127.0.0.1-or-HTTP_HOST; 0: no endpoint. */
  WORKER_METRICS_PORT: int(0, 0),
  /** Worker processes forked by the demo, tests and benchmarks report each turn to their parent over IPC. */
  TURNLANE_REPORT_EVENTS: z.enum(['0', '1']).default('0'),
  /** Worker handler: the demo agent, or `append-one` (one node per turn: the benchmark's handler). */
  TURNLANE_HANDLER: z.enum(['demo', 'append-one']).default('demo'),
  /**
   * Worker: your handler's module, `path[#exportName]` (relative to the working directory; export
   * `handler`, else the default export), as `turnlane worker --handler` sets it. Wins over
   * TURNLANE_HANDLER; empty: TURNLANE_HANDLER.
   */
  TURNLANE_HANDLER_MODULE: z.string().default(''),
  /**
   * Worker and server: how long to wait for Postgres (and, for a worker, Redis) at start before
   * exiting non-zero with one line saying which (ms). A supervisor restarts a process that exits;
   * it never restarts one that hangs. 10 s covers a database container that starts beside us.
   */
  STARTUP_TIMEOUT_MS: int(10_000, 100),
  /** `append-one`: how long each turn holds before it commits (ms). */
  TURNLANE_HANDLER_HOLD_MS: int(0, 0),
  /** `opaque` makes this worker a lease owner nobody can prove dead, like one on another host (benchmarks). */
  TURNLANE_OWNER_LIVENESS: z.enum(['local_process', 'opaque']).default('local_process'),
  /** Demo: worker processes, simulated sessions and messages per session. */
  DEMO_WORKERS: int(3, 1),
  DEMO_SESSIONS: int(24, 1),
  DEMO_MESSAGES: int(6, 1),
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
