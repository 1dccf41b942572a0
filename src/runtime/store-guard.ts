/**
 * guardStore: the runtime's bound on the Postgres driver. Every call through the returned store
 * goes to the current postgres.js pool under a deadline; the pool is replaced by a fresh one
 * (connections made on first use) when the driver has left it unusable.
 *
 * Why: after its connections die, postgres.js 3.4.9 can leave a statement pending forever or a
 * connection stuck for minutes. Measured on the project machine, a pool of 6 under 16 concurrent
 * autocommit statements, 100 pg_terminate_backend rounds:
 * - statements handed to a connection after its socket's error event and before its close event
 *   are never settled (closed(hadError) does not reject them): in 4 runs of 5, 2 to 10 statements
 *   were still pending 60 s after the last termination;
 * - a connection whose deferred write was lost (the null-socket defect, driver-guard.ts) makes
 *   each later statement routed to it wait connect_timeout (30 s) and fail, 10 in a row;
 * - `sql.end()` never resolves once a connection lost a statement in flight (porsager/postgres#1097).
 * A worker drain waiting forever holds its session forever (its heartbeat keeps the lease alive),
 * so a call past its deadline is given up: it rejects with StoreUnavailableError (retryable), or
 * CommitOutcomeUnknownError for a commit, whose stamped retry learns the outcome, exactly as for a
 * connection lost mid-statement. And the pool is replaced, since the call's connection is suspect.
 * Fencing makes a late landing of a given-up statement harmless, as for any lost connection.
 *
 * A replaced pool is ended after twice the deadline, when every call that could still use it has
 * settled or been given up. Replacements are at least REPLACE_INTERVAL_MS apart. A process frozen
 * past the deadline (SIGSTOP) gives up its calls in flight when it wakes: by then its leases have
 * lapsed anyway. Cost: 0.4 µs per call (a proxy lookup and a timer; 200,000 calls measured),
 * against a millisecond for the statement itself.
 */
import type { Logger } from 'pino';
import { CommitOutcomeUnknownError, StoreUnavailableError } from '../errors.js';
import { driverFaults, type DriverFault } from './driver-guard.js';

/** Default call deadline: 15 s, the default lease TTL; a call that outlives the lease serves no one. */
export const DEFAULT_CALL_DEADLINE_MS = 15_000;
/** 1 s: the calls stranded by one outage time out together; one replacement is enough for them. */
const REPLACE_INTERVAL_MS = 1_000;
/** 5 s for `close()` per pool: end() resolves in milliseconds unless it waits for a lost connection forever. */
const CLOSE_BOUND_MS = 5_000;
/** The call whose timeout means "outcome unknown" rather than "not done". */
const COMMIT_CALL = 'sessions.commit';

export interface GuardStoreOptions<T> {
  /** Makes a store on a new pool (createPostgresStore, createPostgresAttachmentStore). */
  open(): T;
  /** What the store is, in logs and errors (for example 'runtime store'). */
  name: string;
  /** How long one call may take before it is given up, in ms. Default 15,000. */
  deadlineMs?: number;
  log: Logger;
}

export type GuardedStore<T> = T & {
  /** Swaps in a fresh pool now (subject to the replacement interval). */
  replace(reason: string): void;
};

type Closable = { close(): Promise<void> };
type Members = Record<string | symbol, unknown>;

export function guardStore<T extends Closable>(options: GuardStoreOptions<T>): GuardedStore<T> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_CALL_DEADLINE_MS;
  const { log } = options;
  let current = options.open();
  let replacedAt = -Infinity;
  let closed = false;
  /** `clock.advance` offsets (tests only), carried over to each new pool. */
  let advancedMs = 0;
  const retiring = new Set<T>();

  function report(kind: DriverFault): void {
    driverFaults.emit('fault', kind);
  }

  function replace(reason: string): void {
    const now = performance.now();
    if (closed || now - replacedAt < REPLACE_INTERVAL_MS) return;
    replacedAt = now;
    const old = current;
    current = options.open();
    if (advancedMs > 0) (current as unknown as { clock?: { advance?(ms: number): void } }).clock?.advance?.(advancedMs);
    retiring.add(old);
    setTimeout(() => void retire(old), 2 * deadlineMs).unref();
    log.warn({ store: options.name, reason }, 'Postgres pool replaced; the old one is ended once its calls have settled');
    report('pool_replaced');
  }

  async function retire(old: T): Promise<void> {
    if (!retiring.delete(old)) return;
    await bounded(old.close(), CLOSE_BOUND_MS);
  }

  const onDefect = (kind: DriverFault) => kind === 'null_socket_write' && replace('postgres.js null-socket write');
  driverFaults.on('fault', onDefect);

  function call(path: string, fn: (...args: unknown[]) => unknown, self: unknown, args: unknown[]): unknown {
    const result = fn.apply(self, args);
    if (path === 'clock.advance') advancedMs += Number(args[0]) || 0;
    if (!isThenable(result)) return result;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        report('call_deadline');
        log.warn({ store: options.name, call: path, deadlineMs }, 'store call passed its deadline; given up');
        replace(`${path} passed its ${deadlineMs} ms deadline`);
        const details = { code: 'STORE_CALL_DEADLINE', call: path, deadlineMs };
        reject(
          path === COMMIT_CALL
            ? new CommitOutcomeUnknownError(`the commit got no answer within ${deadlineMs} ms; retry the same stamped commit`, details)
            : new StoreUnavailableError(`${options.name}: ${path} got no answer within ${deadlineMs} ms`, details),
        );
      }, deadlineMs);
      timer.unref();
      result.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** A live view of `path` in the current store: members are looked up at each access. */
  function view(path: string[]): Members {
    const segments = new Map<string, Members>();
    const target = () => path.reduce<Members>((o, key) => o[key] as Members, current as unknown as Members);
    return new Proxy({} as Members, {
      get(_unused, key) {
        if (path.length === 0 && key === 'replace') return replace;
        if (path.length === 0 && key === 'close') return close;
        const value = target()[key];
        if (typeof key !== 'string') return value;
        if (typeof value === 'function') {
          const name = [...path, key].join('.');
          // Resolved again at call time: a method taken before a replacement reaches the new pool.
          return (...args: unknown[]) => {
            const self = target();
            return call(name, self[key] as (...a: unknown[]) => unknown, self, args);
          };
        }
        if (value !== null && typeof value === 'object') {
          let segment = segments.get(key);
          if (!segment) segments.set(key, (segment = view([...path, key])));
          return segment;
        }
        return value;
      },
    });
  }

  async function close(): Promise<void> {
    closed = true;
    driverFaults.off('fault', onDefect);
    const pools = [current, ...retiring];
    retiring.clear();
    await Promise.all(pools.map((pool) => bounded(pool.close(), CLOSE_BOUND_MS)));
  }

  return view([]) as unknown as GuardedStore<T>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Waits for `work` at most `ms`; its failure or its lateness is not the caller's concern. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
