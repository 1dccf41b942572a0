/**
 * The benchmark's process tree: turnlane worker processes (workers/main.ts with the append-one
 * handler, reporting every turn over IPC) and peer processes (bench/child.ts), plus the resident
 * memory and the CPU time of each, read from /proc/<pid>/status and /proc/<pid>/stat.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkerMessage } from '../workers/main.js';

export type TurnMessage = Extract<WorkerMessage, { type: 'turn' }>;

export interface ProcessGroup {
  readonly pids: number[];
  /** Resolves once every process has said it is ready. */
  ready: Promise<void>;
  /** SIGTERM (or `signal`) to all, resolves when every one has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  kill(index: number, signal: NodeJS.Signals): void;
  /** Largest VmRSS seen per process since the group started, in MB (sampled every 200 ms). */
  peakRssMb(): number[];
  /** CPU milliseconds used so far by all the group's processes together. */
  cpuMs(): number;
}

function vmRssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU milliseconds (user + system) a process has used, from /proc (0 when it is gone). */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

function startGroup(entry: string, count: number, env: (index: number) => NodeJS.ProcessEnv, onMessage: (msg: unknown, index: number) => void, execArgv: string[] = []): ProcessGroup {
  const children: ChildProcess[] = Array.from({ length: count }, (_, index) =>
    fork(entry, [], {
      execArgv: ['--import', 'tsx', ...execArgv],
      env: { ...process.env, LOG_LEVEL: 'warn', ...env(index) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const peaks = children.map(() => 0);
  const sampler = setInterval(() => {
    children.forEach((child, i) => {
      if (child.pid !== undefined && child.exitCode === null) peaks[i] = Math.max(peaks[i]!, vmRssMb(child.pid));
    });
  }, 200);
  sampler.unref();
  const ready = Promise.all(
    children.map(
      (child, index) =>
        new Promise<void>((resolve, reject) => {
          child.on('message', (msg: { type?: string }) => {
            if (msg?.type === 'ready') resolve();
            onMessage(msg, index);
          });
          child.once('exit', (code, signal) => reject(new Error(`${entry} exited (${code ?? signal}) before it was ready`)));
        }),
    ),
  ).then(() => undefined);
  ready.catch(() => {});
  return {
    pids: children.map((c) => c.pid ?? 0),
    ready,
    kill: (index, signal) => void children[index]!.kill(signal),
    peakRssMb: () => [...peaks],
    cpuMs: () => children.reduce((sum, child) => sum + (child.pid === undefined ? 0 : processCpuMs(child.pid)), 0),
    async stop(signal = 'SIGTERM') {
      clearInterval(sampler);
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(force);
                resolve();
              });
              child.kill(signal);
            }),
        ),
      );
    },
  };
}

export interface TurnlaneWorkerEnv {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  queueName: string;
  concurrency: number;
  /** Extra environment, e.g. TURNLANE_HANDLER_HOLD_MS or LEASE_TTL_MS. */
  extra?: NodeJS.ProcessEnv;
}

/** Forks `count` turnlane workers running the append-one handler. */
export function startTurnlaneWorkers(count: number, env: TurnlaneWorkerEnv, onTurn: (msg: TurnMessage, index: number) => void, execArgv: string[] = []): ProcessGroup {
  const entry = fileURLToPath(new URL('../workers/main.ts', import.meta.url));
  return startGroup(
    entry,
    count,
    () => ({
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      TURNLANE_PREFIX: env.prefix,
      TURNLANE_QUEUE: env.queueName,
      WORKER_CONCURRENCY: String(env.concurrency),
      TURNLANE_HANDLER: 'append-one',
      TURNLANE_REPORT_EVENTS: '1',
      ...env.extra,
    }),
    (msg, index) => {
      if ((msg as WorkerMessage).type === 'turn') onTurn(msg as TurnMessage, index);
    },
    execArgv,
  );
}

/**
 * What a peer child reports: `done` counts finished units of work since the last report,
 * `latenciesMs` the enqueue→start latencies of the units started since then (P9's peer).
 */
export type ChildMessage = { type: 'ready' } | { type: 'progress'; done: number; latenciesMs: number[] };

export type ChildRole = 'ceiling' | 'bullmq-noop' | 'graphile' | 'graphile-agent';

/** Forks `count` peer processes (bench/child.ts) of one role; `onDone` receives each progress report. */
export function startChildren(count: number, role: ChildRole, env: NodeJS.ProcessEnv, onDone: (done: number, latenciesMs: number[]) => void): ProcessGroup {
  const entry = fileURLToPath(new URL('./child.ts', import.meta.url));
  return startGroup(
    entry,
    count,
    (index) => ({ ...env, BENCH_ROLE: role, BENCH_CHILD_INDEX: String(index) }),
    (msg) => {
      const m = msg as ChildMessage;
      if (m.type === 'progress') onDone(m.done, m.latenciesMs);
    },
  );
}
