/**
 * Processes that fail fast and say why (issue 16 item 5, issue 14 item 3): a bad or busy port,
 * Postgres or Redis unreachable at start, bad configuration or a bad handler module end the
 * process with one line and a non-zero code; `enqueue` with Redis away exits 0 with the batch
 * accepted and delivery pending, and the batch runs once Redis is back; a server and a worker
 * through a Redis outage keep stderr free of anything but JSON, and the server listens and
 * answers /readyz 503 while Redis is away. Redis outages use a redis-server of the test's own.
 */
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jsonLines, nonJsonLines, runBin, startBin } from '../helpers/bin-process.js';
import { ownRedis, type OwnRedis } from '../helpers/own-redis.js';
import { waitFor } from '../helpers/processes.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/handlers/', import.meta.url));
/** Nothing listens on port 1: connections are refused at once. */
const NO_POSTGRES = 'postgres://postgres@127.0.0.1:1/turnlane_nowhere';
const NO_REDIS = 'redis://127.0.0.1:1';

// Each case starts processes, several seconds each on a loaded 2-core machine.
vi.setConfig({ testTimeout: 240_000 });

let f: RuntimeFixture;
let redis: OwnRedis;

beforeAll(async () => {
  f = await createRuntimeFixture();
  redis = await ownRedis();
});
afterAll(async () => {
  await redis?.stop().catch(() => {});
  await f?.cleanup();
});

async function headRevision(sessionId: string): Promise<number> {
  return (await f.store.operator.getSession(sessionId))?.headRevision ?? 0;
}

describe('start-up failures end the process with one line and a non-zero code', () => {
  it('a port out of range is bad usage (2)', async () => {
    const run = await runBin(['server', '--insecure-local', '--port', '99999'], f.env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('expected a TCP port 0-65535, got 99999');
  });

  it('bad configuration is reported at once (2)', async () => {
    const run = await runBin(['server', '--insecure-local'], f.env({ HTTP_PORT: 'eighty' }));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: INVALID_CONFIG: invalid configuration:; HTTP_PORT: /);
  });

  it('a busy port (1)', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await runBin(['server', '--insecure-local', '--port', String(port)], f.env());
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`error: EADDRINUSE: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
      expect(nonJsonLines(run.stdout)).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it('a server without Postgres waits STARTUP_TIMEOUT_MS, saying so, then exits (1)', async () => {
    const run = await runBin(['server', '--insecure-local', '--port', '0'], f.env({ DATABASE_URL: NO_POSTGRES, STARTUP_TIMEOUT_MS: '500' }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: DEPENDENCY_UNAVAILABLE: Postgres at 127\.0\.0\.1:1\/turnlane_nowhere did not answer within 500 ms \(STARTUP_TIMEOUT_MS\)/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(jsonLines(run.stdout).some((l) => l.dependency === 'Postgres' && String(l.msg).includes('waiting up to 500 ms'))).toBe(true);
  });

  it('a worker without Redis or without Postgres exits (1), naming which', async () => {
    const noRedis = await runBin(['worker', '--handler', './echo-agent.mjs'], f.env({ REDIS_URL: NO_REDIS, STARTUP_TIMEOUT_MS: '500' }), HANDLERS);
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/^error: DEPENDENCY_UNAVAILABLE: Redis at 127\.0\.0\.1:1 did not answer within 500 ms \(STARTUP_TIMEOUT_MS\): .*ECONNREFUSED/);
    expect(nonJsonLines(noRedis.stdout)).toEqual([]);
    const noPostgres = await runBin(['worker', '--handler', './echo-agent.mjs'], f.env({ DATABASE_URL: NO_POSTGRES, STARTUP_TIMEOUT_MS: '500' }), HANDLERS);
    expect(noPostgres.code).toBe(1);
    expect(noPostgres.stderr).toMatch(/^error: DEPENDENCY_UNAVAILABLE: Postgres at 127\.0\.0\.1:1\/turnlane_nowhere/);
  });

  it('a handler module that is missing or lacks the export (1)', async () => {
    const missing = await runBin(['worker', '--handler', './no-such-agent.mjs'], f.env(), HANDLERS);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: HANDLER_MODULE_INVALID: handler module \.\/no-such-agent\.mjs: no such file/);
    const noExport = await runBin(['worker', '--handler', './echo-agent.mjs#whisper'], f.env(), HANDLERS);
    expect(noExport.code).toBe(1);
    expect(noExport.stderr).toBe('error: HANDLER_MODULE_INVALID: handler module ./echo-agent.mjs#whisper: expected an export named whisper that is a function, found functions handler, shout\n');
  });
});

describe('Redis away', () => {
  it('enqueue exits 0 with delivery pending, and the batch runs once Redis is back', async () => {
    const run = await runBin(['enqueue', 'ff-pending', 'sent while Redis was away', '--key', 'ff-1'], f.env({ REDIS_URL: redis.url }));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^enqueued b_\S+ \(session ff-pending, seq \d+, queued\); delivery pending: the reconciler will publish it/);
    expect(run.stderr).toBe('');
    expect((await f.store.queue.list('ff-pending')).map((b) => b.sourceKey)).toEqual(['ff-1']);

    await redis.start();
    const worker = startBin(['worker', '--handler', './echo-agent.mjs'], f.env({ REDIS_URL: redis.url }), HANDLERS);
    try {
      await waitFor(async () => (await headRevision('ff-pending')) === 1, 60_000, 'the pending batch to run');
      const read = await f.store.sessions.load('ff-pending', { kind: 'full_graph' });
      expect(JSON.stringify(read?.graph.nodes)).toContain('you said: sent while Redis was away');
    } finally {
      await worker.stop();
      await redis.stop();
    }
  });

  it('a server started without Redis listens, answers /readyz 503 and accepts input; server and worker stderr stay JSON through a restart', async () => {
    const server = startBin(['server', '--insecure-local', '--port', '0'], f.env({ REDIS_URL: redis.url }));
    let worker: ReturnType<typeof startBin> | undefined;
    try {
      const { url } = (await server.logLine('server listening')) as { url: string };
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { postgres: 'ok', redis: 'unavailable' } });
      const enqueue = (text: string, key: string) =>
        fetch(`${url}/v1/sessions/ff-http/inputs`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ text }) });
      expect((await enqueue('before Redis', 'h-1')).status).toBe(202);

      await redis.start();
      worker = startBin(['worker', '--handler', './echo-agent.mjs#shout'], f.env({ REDIS_URL: redis.url }), HANDLERS);
      await waitFor(async () => (await headRevision('ff-http')) === 1, 60_000, 'the first batch to run');
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 60_000, '/readyz 200 with Redis up');

      await redis.stop();
      expect((await enqueue('during the outage', 'h-2')).status).toBe(202);
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
      await redis.start();
      await waitFor(async () => (await headRevision('ff-http')) === 2, 60_000, 'the batch of the outage to run');
      const read = await f.store.sessions.load('ff-http', { kind: 'full_graph' });
      expect(JSON.stringify(read?.graph.nodes)).toContain('DURING THE OUTAGE');
    } finally {
      await worker?.stop();
      await server.stop();
    }
    expect(nonJsonLines(server.stderr())).toEqual([]);
    expect(nonJsonLines(server.stdout())).toEqual([]);
    expect(nonJsonLines(worker!.stderr())).toEqual([]);
    expect(nonJsonLines(worker!.stdout())).toEqual([]);
  });
});
