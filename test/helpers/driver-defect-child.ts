/**
 * A child process for test/unit/driver-guard.test.ts. `null-socket-write` reproduces the
 * postgres.js null-socket write (porsager/postgres#1208): a statement in flight inside `sql.begin`
 * when its backend is terminated; the transaction is rejected with CONNECTION_CLOSED and
 * postgres.js's own ROLLBACK is then written to the closed connection from a setImmediate.
 * `other-exception` and `unhandled-rejection` raise look-alikes that the guard must not swallow.
 * With GUARD=1 the driver guard is installed first. Prints one JSON line, exits 0, unless it crashed.
 * Touches no table and terminates only the backend of its own transaction.
 */
import postgres from 'postgres';
import { createLogger } from '../../src/logger.js';
import { installDriverGuard, type DriverGuard } from '../../src/runtime/driver-guard.js';

const url = process.argv[3] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const guard: DriverGuard | undefined = process.env.GUARD === '1' ? installDriverGuard(createLogger({ level: 'warn', destination: process.stderr })) : undefined;
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

async function nullSocketWrite(): Promise<Record<string, unknown>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  let pid: number | undefined;
  const transaction = sql.begin(async (tx) => {
    pid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
    await tx`select pg_sleep(5)`;
  });
  while (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
  await admin`select pg_terminate_backend(${pid})`;
  const outcome = await transaction.then(
    () => 'committed',
    (err: { code?: string }) => err.code ?? String(err),
  );
  // The deferred ROLLBACK write runs on a later turn of the event loop; on a loaded machine that
  // can be after 200 ms, so wait for it (bounded) rather than for a fixed time.
  for (let waited = 0; waited < 5000 && (guard?.survived ?? 0) === 0; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  await admin.end();
  return { transaction: outcome };
}

async function main(): Promise<Record<string, unknown>> {
  switch (process.argv[2]) {
    case 'null-socket-write':
      return nullSocketWrite();
    case 'other-exception':
      // Same message, but thrown from this file: not the defect.
      setImmediate(() => {
        throw new TypeError("Cannot read properties of null (reading 'write')");
      });
      await settle();
      return {};
    case 'unhandled-rejection':
      void Promise.reject(new Error('a rejection nobody handles'));
      await settle();
      return {};
    default:
      throw new Error(`mode: expected null-socket-write, other-exception or unhandled-rejection, got ${process.argv[2]}`);
  }
}

const result = await main();
process.stdout.write(`${JSON.stringify({ ...result, survived: guard?.survived ?? 0 })}\n`);
process.exit(0);
