/**
 * A real API server process (`bin/turnlane.mjs server`) for HTTP and browser tests, in the
 * namespace of a RuntimeFixture (its database and BullMQ prefix), with test credentials.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { secretDigest } from '../../src/server/auth.js';

export const BIN = fileURLToPath(new URL('../../bin/turnlane.mjs', import.meta.url));

export const PRODUCER_KEY = 'tl-test-producer-key-0123456789abcdef';
export const OPERATOR = { user: 'ops', password: 'correct horse battery staple, but longer' };

export function credentialsEnv(): Record<string, string> {
  return {
    API_KEY_SHA256: secretDigest(PRODUCER_KEY),
    OPERATOR_CREDENTIALS: `${OPERATOR.user}:${secretDigest(OPERATOR.password)}`,
    OPERATOR_SESSION_SECRET: 'test-session-secret',
  };
}

export const bearer = { authorization: `Bearer ${PRODUCER_KEY}` };
export const basic = { authorization: `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}` };

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Captured stdout+stderr (JSON log lines). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const child = fork(BIN, ['server', '--port', '0', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', HTTP_HOST: '127.0.0.1', ...credentialsEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (msg: { type?: string; url?: string }) => {
      if (msg.type === 'listening' && msg.url) resolve(msg.url);
    });
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
