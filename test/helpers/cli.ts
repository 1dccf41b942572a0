/** Runs the built CLI (`bin/turnlane.mjs`) as a process against a test namespace, collecting its output. */
import { spawn } from 'node:child_process';
import type { RuntimeFixture } from './runtime.js';
import { BIN } from './server.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(f: RuntimeFixture, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...f.env(), LOG_LEVEL: 'silent', API_KEY_SHA256: '', OPERATOR_CREDENTIALS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
