/** `bin/turnlane.mjs` as a process with its stdout and stderr kept apart: one-shot runs and long-running servers and workers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './server.js';
import { waitFor } from './processes.js';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout JSON log line whose `msg` is `msg`. */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<Finished>;
  stop(): Promise<Finished>;
}

/** The environment every run starts from: no credentials from the developer's shell, JSON logs at info. */
function baseEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, LOG_LEVEL: 'info', API_KEY_SHA256: '', OPERATOR_CREDENTIALS: '', HTTP_HOST: '127.0.0.1', ...env };
}

export function startBin(args: string[], env: Record<string, string>, cwd?: string): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Finished>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async logLine(msg, timeoutMs = 60_000) {
      let found: Record<string, unknown> | undefined;
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`process exited (code ${child.exitCode}) before logging "${msg}":\n${stdout}\n${stderr}`);
          found = jsonLines(stdout).find((line) => line.msg === msg);
          return found !== undefined;
        },
        timeoutMs,
        `log line "${msg}"`,
      );
      return found!;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export function runBin(args: string[], env: Record<string, string>, cwd?: string): Promise<Finished> {
  return startBin(args, env, cwd).exited;
}

/** The non-empty lines of `text` parsed as JSON objects; throws on the first line that is not one. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const value = JSON.parse(line) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a JSON object: ${line}`);
      return value as Record<string, unknown>;
    });
}

/** The lines of `text` that are not JSON objects (what a log pipeline would choke on). */
export function nonJsonLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    try {
      const value = JSON.parse(line) as unknown;
      return typeof value !== 'object' || value === null || Array.isArray(value);
    } catch {
      return true;
    }
  });
}
