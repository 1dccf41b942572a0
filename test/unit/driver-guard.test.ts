/**
 * The driver guard (src/runtime/driver-guard.ts): its matcher recognises the postgres.js
 * null-socket write and nothing that merely resembles it; in a real process it survives the real
 * defect, reproduced against the installed postgres.js, and still crashes on everything else.
 * The store guard (src/runtime/store-guard.ts): a call past its deadline is given up and the pool
 * replaced.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommitOutcomeUnknownError, StoreUnavailableError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { driverFaults, isPostgresNullSocketWrite, type DriverFault } from '../../src/runtime/driver-guard.js';
import { guardStore } from '../../src/runtime/store-guard.js';
import { ADMIN_URL } from '../helpers/postgres.js';

const CHILD = fileURLToPath(new URL('../helpers/driver-defect-child.ts', import.meta.url));
const MESSAGE = "Cannot read properties of null (reading 'write')";

/** An error as V8 builds it, with the given first frames. */
function typeError(message: string, ...frames: string[]): TypeError {
  const err = new TypeError(message);
  err.stack = [`TypeError: ${message}`, ...frames.map((f) => `    at ${f}`)].join('\n');
  return err;
}

const NEXT_WRITE = 'Immediate.nextWrite (file:///srv/app/node_modules/postgres/src/connection.js:255:22)';
const TIMERS = 'process.processImmediate (node:internal/timers:483:21)';

describe('isPostgresNullSocketWrite', () => {
  it('recognises the defect as postgres.js 3.4.9 throws it (ESM, CommonJS, pnpm and Windows paths)', () => {
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, NEXT_WRITE, TIMERS))).toBe(true);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.nextWrite (/srv/app/node_modules/postgres/cjs/src/connection.js:255:22)', TIMERS))).toBe(true);
    expect(
      isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.nextWrite (/srv/app/node_modules/.pnpm/postgres@3.4.9/node_modules/postgres/src/connection.js:255:22)')),
    ).toBe(true);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.nextWrite (C:\\app\\node_modules\\postgres\\src\\connection.js:255:22)'))).toBe(true);
  });

  it('rejects the same message from anywhere else, nextWrite below the first frame, or in another package', () => {
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.<anonymous> (file:///srv/app/src/runtime/worker.ts:10:5)', TIMERS))).toBe(false);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'write (file:///srv/app/src/log.ts:3:9)', NEXT_WRITE))).toBe(false);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.nextWrite (file:///srv/app/node_modules/ws/lib/sender.js:80:3)'))).toBe(false);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE, 'Immediate.nextWrite (file:///srv/app/node_modules/postgres/src/query.js:255:22)'))).toBe(false);
    expect(isPostgresNullSocketWrite(typeError(MESSAGE))).toBe(false);
  });

  it('rejects other errors thrown from the same frame: another message, another class, not an error', () => {
    expect(isPostgresNullSocketWrite(typeError("Cannot read properties of null (reading 'end')", NEXT_WRITE))).toBe(false);
    expect(isPostgresNullSocketWrite(typeError("Cannot read properties of undefined (reading 'write')", NEXT_WRITE))).toBe(false);
    const plain = new Error(MESSAGE);
    plain.stack = `Error: ${MESSAGE}\n    at ${NEXT_WRITE}`;
    expect(isPostgresNullSocketWrite(plain)).toBe(false);
    expect(isPostgresNullSocketWrite(MESSAGE)).toBe(false);
    expect(isPostgresNullSocketWrite(null)).toBe(false);
    expect(isPostgresNullSocketWrite({ message: MESSAGE, stack: `TypeError: ${MESSAGE}\n    at ${NEXT_WRITE}` })).toBe(false);
  });
});

function runChild(mode: string, guard: boolean): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', CHILD, mode, ADMIN_URL], {
    env: { ...process.env, GUARD: guard ? '1' : '0' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the guard in a process, against the installed postgres.js', () => {
  it('without the guard, the terminated backend of a transaction crashes the process from nextWrite', () => {
    const run = runChild('null-socket-write', false);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`TypeError: ${MESSAGE}`);
    expect(run.stderr).toMatch(/at Immediate\.nextWrite \(.*postgres[\\/]src[\\/]connection\.js/);
  });

  it('with the guard, the process survives it; the transaction was already rejected CONNECTION_CLOSED', () => {
    const run = runChild('null-socket-write', true);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ transaction: 'CONNECTION_CLOSED', survived: 1 });
  });

  it('with the guard, a look-alike uncaught exception and an unhandled rejection still end the process with code 1', () => {
    const other = runChild('other-exception', true);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(`Uncaught exception: TypeError: ${MESSAGE}`);
    const rejection = runChild('unhandled-rejection', true);
    expect(rejection.status).toBe(1);
    expect(rejection.stderr).toContain('Unhandled rejection: Error: a rejection nobody handles');
  });
});

describe('guardStore', () => {
  interface FakePool {
    generation: number;
    queue: { get(id: string): Promise<string> };
    sessions: { commit(): Promise<string> };
    clock: { advance(ms: number): void; offset: number };
    close(): Promise<void>;
    closed: boolean;
  }
  /** Pool 1 never answers (a wedged driver); later pools answer at once. `endHangs`: close() never resolves, as postgres.js end() after a lost connection. */
  function pools(endHangs = false): { open(): FakePool; opened: FakePool[] } {
    const opened: FakePool[] = [];
    return {
      opened,
      open() {
        const generation = opened.length + 1;
        const never = () => new Promise<string>(() => {});
        const pool: FakePool = {
          generation,
          queue: { get: (id) => (generation === 1 ? never() : Promise.resolve(`${id}@${generation}`)) },
          sessions: { commit: () => (generation === 1 ? never() : Promise.resolve('committed')) },
          clock: {
            offset: 0,
            advance(ms) {
              this.offset += ms;
            },
          },
          closed: false,
          async close() {
            pool.closed = true;
            if (endHangs) await never();
          },
        };
        opened.push(pool);
        return pool;
      },
    };
  }

  it('gives up a call past its deadline, replaces the pool, and sends later calls (even through a method taken before) to the new one', async () => {
    const p = pools(true);
    const faults: DriverFault[] = [];
    const onFault = (kind: DriverFault) => faults.push(kind);
    driverFaults.on('fault', onFault);
    const store = guardStore({ name: 'test store', open: p.open, deadlineMs: 50, log: silentLogger() });
    try {
      const get = store.queue.get;
      store.clock.advance(1000);
      const err = await store.queue.get('b1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).details).toMatchObject({ code: 'STORE_CALL_DEADLINE', call: 'queue.get', deadlineMs: 50 });
      expect(p.opened).toHaveLength(2);
      expect(await get('b2')).toBe('b2@2');
      expect(store.generation).toBe(2);
      // The test clock offset moves to the new pool.
      expect(p.opened[1]!.clock.offset).toBe(1000);
      expect(faults).toEqual(['call_deadline', 'pool_replaced']);
    } finally {
      driverFaults.off('fault', onFault);
      await store.close();
    }
    // close() is bounded even though end() never resolves, and ends every pool.
    expect(p.opened.every((pool) => pool.closed)).toBe(true);
  }, 15_000);

  it('gives up a commit as outcome unknown, so the stamped commit is retried', async () => {
    const p = pools();
    const store = guardStore({ name: 'test store', open: p.open, deadlineMs: 50, log: silentLogger() });
    try {
      await expect(store.sessions.commit()).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
      expect(await store.sessions.commit()).toBe('committed');
    } finally {
      await store.close();
    }
  }, 15_000);

  it('replaces the pool when the driver guard reports a null-socket write', async () => {
    const p = pools();
    const store = guardStore({ name: 'test store', open: p.open, log: silentLogger() });
    try {
      driverFaults.emit('fault', 'null_socket_write');
      expect(p.opened).toHaveLength(2);
      expect(await store.queue.get('b3')).toBe('b3@2');
    } finally {
      await store.close();
    }
  }, 15_000);
});
