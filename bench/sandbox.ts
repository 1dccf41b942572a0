/**
 * `node --import tsx bench/sandbox.ts [concurrency…]`: what a sandboxed turn costs on its own
 * (TURN_SANDBOX, src/runtime/sandbox/pool.ts), without Postgres or Redis: the append-one handler of
 * workers/handler.ts called directly, then through sandbox processes (one per concurrent turn),
 * 4,000 turns each; prints turns/s and this process's CPU per turn. Sandbox processes run under
 * tsx here (their start-up is outside the timing; their own CPU is not counted).
 */
import { fileURLToPath } from 'node:url';
import { createSandbox } from '../src/runtime/sandbox/pool.js';
import { silentLogger } from '../src/logger.js';
import type { TurnContext, TurnHandler, TurnInputView } from '../src/runtime/turn.js';
import { selectHandler, type HandlerSettings } from '../workers/handler.js';

const TURNS = 4000;
const settings: HandlerSettings = { TURNLANE_HANDLER: 'append-one', TURNLANE_HANDLER_HOLD_MS: 0, DEMO_THINK_MS: 0 };

function context(): TurnContext {
  const input = { batchId: 'b', itemId: 'i', payload: { type: 'turn_input', input: { items: [{ type: 'text', text: 'hello' }] } }, enqueueSeq: 1 } as unknown as TurnInputView;
  return {
    sessionId: 'bench',
    turnId: 'turn:bench',
    fencingToken: 1,
    inputs: [input],
    session: null,
    signal: new AbortController().signal,
    log: silentLogger(),
    checkpoint: async () => [],
    tools: { use: async () => {} },
    usage: { record: () => {} },
    attachments: { put: async () => Promise.reject(new Error('unused')), get: async () => Promise.reject(new Error('unused')) },
  };
}

async function measure(name: string, handler: TurnHandler, concurrency: number): Promise<void> {
  let started = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < TURNS) {
        started++;
        await handler(context());
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(`${name.padEnd(28)} concurrency ${String(concurrency).padStart(2)}: ${(TURNS / seconds).toFixed(0).padStart(7)} turns/s, ${((cpu.user + cpu.system) / TURNS).toFixed(0)} µs CPU per turn in this process`);
}

const levels = process.argv.slice(2).map(Number).filter((n) => n > 0);
for (const concurrency of levels.length ? levels : [1, 4, 16]) {
  await measure('in process', selectHandler(settings), concurrency);
  const sandbox = createSandbox({
    module: fileURLToPath(new URL('../workers/handler.ts', import.meta.url)),
    maxIdle: concurrency,
    logLevel: 'silent',
    env: { TURNLANE_HANDLER_SETTINGS: JSON.stringify(settings) },
  });
  await sandbox.start(concurrency);
  await measure('sandbox processes', sandbox.handler, concurrency);
  await sandbox.close();
}
