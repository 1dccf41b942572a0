/**
 * Real worker processes for end-to-end tests: `workers/main.ts` forked with IPC, reporting its
 * turns (TURNLANE_REPORT_EVENTS=1). Each test passes its own database and BullMQ prefix.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerMessage } from '../../workers/main.js';

const ENTRY = fileURLToPath(new URL('../../workers/main.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  messages: WorkerMessage[];
  /** Resolves when the process exits, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = fork(ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? 'error', TURNLANE_REPORT_EVENTS: '1', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: WorkerMessage[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.on('message', (msg: WorkerMessage) => {
      messages.push(msg);
      if (msg.type === 'ready') resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`worker exited before ready (code ${code}, signal ${signal})`)));
  });
  return {
    child,
    pid: child.pid!,
    messages,
    exited,
    kill: (signal) => void child.kill(signal),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
