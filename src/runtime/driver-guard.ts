/**
 * The process guard against one postgres.js defect, and the channel on which this process reports
 * the Postgres driver faults it survived (metrics and a forking parent listen there).
 *
 * The defect (postgres.js 3.4.9; porsager/postgres#1154 and #1208, fixes proposed in #1168 and
 * #1209, none released): `write` defers a write under 1,024 bytes to a setImmediate. When the
 * connection has closed by then, `closed()` has set `socket = null`, and the deferred `nextWrite`
 * throws `TypeError: Cannot read properties of null (reading 'write')` from the immediate, outside
 * every caller's promise: an uncaught exception, which ends the process. A Postgres restart or a
 * terminated backend reaches it through `sql.begin`: the statement in flight is rejected with
 * CONNECTION_CLOSED, and postgres.js's own ROLLBACK is the write that lands on the null socket.
 *
 * Surviving it loses nothing: the write belongs to a connection that is already gone (the server
 * rolled the transaction back when the backend ended), and its caller has its answer (`begin`
 * races its body against the connection's close and rejects with CONNECTION_CLOSED). What the
 * throw leaves behind is a connection whose write buffer is stuck: measured, each later statement
 * routed to it waited connect_timeout (30 s) and failed CONNECT_TIMEOUT, 10 times in a row, before
 * it recovered. So a guarded store replaces its pool when the guard reports the defect
 * (store-guard.ts).
 *
 * The guard recognises exactly this defect and nothing else: a TypeError with that message whose
 * first stack frame is `nextWrite` in postgres.js's connection.js, raised as an uncaught exception
 * (not a rejection). The driver gives the error no code, so the frame is what identifies it (the
 * message only confirms the null dereference; style rule 6 is about errors that have codes).
 * Every other uncaught exception or unhandled rejection ends the process as Node would without a
 * listener: the error on stderr, exit code 1.
 *
 * Remove this module once a postgres.js release guards nextWrite (test/unit/driver-guard.test.ts
 * reproduces the defect against the installed version).
 */
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import type { Logger } from 'pino';

/**
 * - `null_socket_write`: the defect above, survived;
 * - `call_deadline`: a store call passed its deadline and was given up (store-guard.ts);
 * - `pool_replaced`: a guarded store swapped in a fresh pool (store-guard.ts).
 */
export type DriverFault = 'null_socket_write' | 'call_deadline' | 'pool_replaced';

/** Process-wide: the guard and every guarded store report here. Listeners must not throw. */
export const driverFaults = new EventEmitter<{ fault: [kind: DriverFault] }>();

const NULL_SOCKET_WRITE = "Cannot read properties of null (reading 'write')";
/** `at Immediate.nextWrite (file:///…/node_modules/postgres/src/connection.js:255:22)`; cjs/src in the CommonJS build. */
const NEXT_WRITE_FRAME = /^\s*at (?:Immediate\.)?nextWrite \(.*[\\/]postgres[\\/](?:cjs[\\/])?src[\\/]connection\.js:\d+:\d+\)$/;

/** True for the postgres.js null-socket write and for nothing else (see the file comment). */
export function isPostgresNullSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError) || err.message !== NULL_SOCKET_WRITE) return false;
  const firstFrame = (err.stack ?? '').split('\n').find((line) => /^\s*at /.test(line));
  return firstFrame !== undefined && NEXT_WRITE_FRAME.test(firstFrame);
}

export interface DriverGuard {
  /** Defects survived since the guard was installed. */
  readonly survived: number;
}

let installed: { survived: number } | undefined;

/**
 * Installs the guard once per process (later calls return the same guard). Entry points only
 * (workers/main.ts, src/server/main.ts): a library must not decide how its host process crashes.
 */
export function installDriverGuard(log: Logger): DriverGuard {
  if (installed) return installed;
  const guard = { survived: 0 };
  installed = guard;
  process.on('uncaughtException', (err, origin) => {
    if (origin !== 'uncaughtException' || !isPostgresNullSocketWrite(err)) crash(err, origin, log);
    guard.survived++;
    log.warn({ err, survived: guard.survived }, 'survived a postgres.js write on a closed connection (porsager/postgres#1154); the pool is replaced');
    try {
      driverFaults.emit('fault', 'null_socket_write');
    } catch (listenerErr) {
      crash(listenerErr, 'uncaughtException', log);
    }
  });
  return guard;
}

/** What Node does with an uncaught error when nobody listens: print it, exit 1. */
function crash(err: unknown, origin: NodeJS.UncaughtExceptionOrigin, log: Logger): never {
  try {
    log.fatal({ err, origin }, origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception');
  } catch {
    // The logger itself failed: stderr below still says what happened.
  }
  process.stderr.write(`${origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception'}: ${inspect(err)}\n`);
  process.exit(1);
}
