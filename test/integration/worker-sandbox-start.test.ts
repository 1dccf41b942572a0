/**
 * A worker whose sandbox handler module cannot load fails when it starts, in both sandbox modes,
 * instead of failing turns later (a sandbox that cannot start counts no attempt, so a broken
 * module found only at the first suspect would retry that suspect forever). With every turn
 * sandboxed, a process per job slot is running once the worker reports ready.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorker, type TurnWorker } from '../../src/runtime/worker.js';
import { SandboxStartError } from '../../src/runtime/sandbox/pool.js';
import { createInMemoryStore } from '../../src/store/memory/index.js';
import { REDIS_URL } from '../helpers/runtime.js';

const FIXTURE = new URL('../fixtures/sandbox-handlers.ts', import.meta.url).href;
const workers: TurnWorker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

function worker(sandbox: { module: string; exportName?: string; turns: 'suspects' | 'all' }): TurnWorker {
  const w = createWorker({
    store: createInMemoryStore(),
    handler: async () => ({ append: [] }),
    sandbox: { ...sandbox, logLevel: 'silent' },
    settings: { redisUrl: REDIS_URL, queueName: 'turnlane.turns', prefix: `{tl-sbx-${randomBytes(4).toString('hex')}}` },
    concurrency: 3,
    reconcileIntervalMs: 0,
    rescueIntervalMs: 0,
  });
  workers.push(w);
  return w;
}

describe('a worker with a sandbox', () => {
  it.each(['suspects', 'all'] as const)('fails at start when the handler module does not load (%s)', async (turns) => {
    const w = worker({ module: '/nonexistent/handler.js', turns });
    await expect(w.run()).rejects.toBeInstanceOf(SandboxStartError);
    await expect(w.ready).rejects.toBeInstanceOf(SandboxStartError);
  });

  it.each(['suspects', 'all'] as const)('fails at start when the export is not a function (%s)', async (turns) => {
    const w = worker({ module: FIXTURE, exportName: 'notAFunction', turns });
    await expect(w.run()).rejects.toBeInstanceOf(SandboxStartError);
  });

  it('is ready with a sandbox process per job slot when every turn is sandboxed', async () => {
    const w = worker({ module: FIXTURE, turns: 'all' });
    const running = w.run();
    await w.ready;
    const { execSync } = await import('node:child_process');
    const children = execSync(`pgrep -P ${process.pid} -f sandbox/child || true`).toString().trim().split('\n').filter(Boolean);
    expect(children.length).toBeGreaterThanOrEqual(3);
    await w.close();
    await running;
  });
});
