/**
 * Child process of limits.abuse.test.ts, run with --expose-gc: starts the real API server
 * (startServer, the configuration from the environment) in this process, opens and closes event
 * streams against it, and reports the live heap after forced GCs, before and after, on stdout as
 * one JSON line. In-process so that `global.gc` sees the server's heap.
 */
import { request } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/main.js';

const CYCLES = Number(process.env.STREAM_CYCLES ?? 5000);
const WARMUP = 300;
const PARALLEL = 8;
const sessionId = process.env.STREAM_SESSION!;
const key = process.env.STREAM_KEY!;

async function liveHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 5; i++) {
    gc();
    await tick();
  }
  return process.memoryUsage().heapUsed;
}

/** Opens one stream, waits for its `ready` event, closes it from the client side. */
function cycle(url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: `/v1/sessions/${sessionId}/events`, headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let seen = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.includes('event: ready')) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
    req.end();
  });
}

async function run(url: URL, cycles: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < cycles) {
        next++;
        await cycle(url);
      }
    }),
  );
}

const server = await startServer({ config: loadConfig(process.env), port: 0 });
const url = new URL(server.url);
await run(url, WARMUP);
const before = await liveHeap();
await run(url, CYCLES);
// The server notices each client's close asynchronously: give it a moment of event-loop turns.
for (let i = 0; i < 100; i++) await tick();
const after = await liveHeap();
await server.close();
process.stdout.write(`${JSON.stringify({ before, after, cycles: CYCLES })}\n`);
process.exit(0);
