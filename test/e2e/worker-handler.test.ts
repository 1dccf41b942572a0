/**
 * `turnlane worker --handler ./module.mjs[#export]`: your handler runs with what the demo gets
 * from workers/main.ts: in the worker process or in sandbox processes (TURN_SANDBOX), with its
 * metrics endpoint, and a graceful exit 0 on SIGTERM.
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBin } from '../helpers/bin-process.js';
import { waitFor } from '../helpers/processes.js';
import { createRuntimeFixture, type RuntimeFixture } from '../helpers/runtime.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/handlers/', import.meta.url));

let f: RuntimeFixture;

beforeAll(async () => {
  f = await createRuntimeFixture();
});
afterAll(async () => {
  await f?.cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('worker --handler', () => {
  for (const sandbox of ['off', 'all'] as const) {
    it(`runs the named export with TURN_SANDBOX=${sandbox}, serves metrics, and exits 0 on SIGTERM`, async () => {
      const sessionId = `wh-${sandbox}`;
      const metricsPort = await freePort();
      const worker = startBin(['worker', '--handler', './echo-agent.mjs#shout', '--concurrency', '2'], f.env({ TURN_SANDBOX: sandbox, WORKER_METRICS_PORT: String(metricsPort) }), HANDLERS);
      try {
        const started = await worker.logLine('worker started');
        expect(started).toMatchObject({ handler: './echo-agent.mjs#shout', concurrency: 2 });
        await f.producer.enqueueTurnInput({ sessionId, text: 'quiet words' });
        await waitFor(async () => ((await f.store.operator.getSession(sessionId))?.headRevision ?? 0) === 1, 60_000, 'the turn to commit');
        const read = await f.store.sessions.load(sessionId, { kind: 'full_graph' });
        expect(JSON.stringify(read?.graph.nodes)).toContain('QUIET WORDS');
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).toMatch(/^turnlane_turns_committed_total(\{[^}]*\})? 1$/m);
      } finally {
        const { code } = await worker.stop();
        expect(code).toBe(0);
      }
    }, 180_000);
  }
});
