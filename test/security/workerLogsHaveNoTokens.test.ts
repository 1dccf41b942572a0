/**
 * Tokens never appear in captured logs: a real worker process (workers/main.ts) at LOG_LEVEL=debug
 * runs turns, including a poison input that fails and is dead-lettered (warn lines with errors),
 * and is shut down with SIGTERM; its stdout and stderr are captured. Every lease token the store
 * handed out meanwhile (polled from `leases.get`) is absent from the output.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntimeFixture, queueIsEmpty, type RuntimeFixture } from '../helpers/runtime.js';
import { waitFor } from '../helpers/processes.js';

const ENTRY = fileURLToPath(new URL('../../workers/main.ts', import.meta.url));
let fixture: RuntimeFixture | undefined;

afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('worker logs', () => {
  it('carry no lease token at debug level, through turns, a failure and shutdown', async () => {
    fixture = await createRuntimeFixture();
    const f = fixture;
    const child = fork(ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...f.env({ LOG_LEVEL: 'debug', DEMO_THINK_MS: '60', MAX_ATTEMPTS: '1', LEASE_TTL_MS: '1500' }), TURNLANE_REPORT_EVENTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += String(chunk)));
    child.stderr!.on('data', (chunk) => (output += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
      void exited.then((code) => reject(new Error(`worker exited before ready (${code})`)));
    });

    const sessions = ['log-a', 'log-b', 'log-c'];
    const tokens = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const s of sessions) {
          const lease = await f.store.leases.get(s);
          if (lease?.leaseToken) tokens.add(lease.leaseToken);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    for (let i = 0; i < 4; i++) {
      for (const s of sessions) await f.producer.enqueueTurnInput({ sessionId: s, text: i === 2 && s === 'log-b' ? 'this is !poison' : `${s} message ${i}` });
    }
    await waitFor(() => queueIsEmpty(f.store, sessions), 60_000, 'the sessions to drain');
    polling = false;
    await poller;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(tokens.size).toBeGreaterThan(0);
    expect(output).toContain('demo turn done');
    expect(output).toContain('turn handler failed');
    expect(output).toContain('shutting down gracefully');
    for (const token of tokens) expect(output.includes(token), `lease token ${token.slice(0, 4)}… in the worker's output`).toBe(false);
    // Nothing token-shaped leaks under its key either.
    expect(output).not.toMatch(/"(leaseToken|claimToken|lease_token|claim_token)":"(?!\[redacted\])[^"]+"/);
  }, 90_000);
});
