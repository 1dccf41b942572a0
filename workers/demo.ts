/**
 * `npm run demo`: migrates, starts worker processes running the demo agent, simulates chat
 * users (some double-text mid-turn, some send bursts that join into one turn, some send
 * operator commands), shows progress, and ends with a table of what happened.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../db/migrate.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { createBatchQueue, redisConnection } from '../src/runtime/bullmq.js';
import { createProducer, type Producer } from '../src/runtime/producer.js';
import type { RuntimeStore } from '../src/store/contract.js';
import type { WorkerMessage } from './main.js';
import { Progress, percentile, renderTable } from './terminal.js';

const { DEMO_WORKERS: WORKERS, DEMO_SESSIONS: SESSIONS, DEMO_MESSAGES: MESSAGES } = loadConfig();

interface Tally {
  turns: number;
  joinedInputs: number;
  midTurn: number;
  startLatencyMs: number[];
  commitMs: number[];
}

export async function runDemo(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: 'warn', base: { role: 'demo' } });
  await migrate(config.DATABASE_URL);
  const store = createPostgresStore({ databaseUrl: config.DATABASE_URL, maxConnections: 4 });
  const connection = redisConnection(config.REDIS_URL, 'producer');
  const queue = createBatchQueue({ redisUrl: config.REDIS_URL, queueName: config.TURNLANE_QUEUE, prefix: config.TURNLANE_PREFIX, jobAttempts: 8, backoffMs: 500 }, connection);
  const producer = createProducer({ store, queue, settings: { prefix: config.TURNLANE_PREFIX, queueName: config.TURNLANE_QUEUE }, logger: log });
  const tally: Tally = { turns: 0, joinedInputs: 0, midTurn: 0, startLatencyMs: [], commitMs: [] };
  const started = performance.now();

  const workers = await startWorkers(WORKERS, config.DEMO_THINK_MS, tally);
  const run = randomBytes(3).toString('hex');
  const sessions = Array.from({ length: SESSIONS }, (_, i) => `demo-${run}-${String(i).padStart(3, '0')}`);
  const accepted = new Set<string>();
  const progress = new Progress('batches done', SESSIONS * MESSAGES);
  try {
    await Promise.all(sessions.map((s, i) => chat(producer, s, i, accepted)));
    await waitForDrain(store, accepted, progress);
  } finally {
    progress.done();
    await stopWorkers(workers);
  }

  const seconds = (performance.now() - started) / 1000;
  const letters = (await store.queue.listDeadLetters()).filter((l) => l.sessionId.startsWith(`demo-${run}-`));
  console.log(
    renderTable(
      ['metric', 'value'],
      [
        ['worker processes', String(WORKERS)],
        ['sessions', String(SESSIONS)],
        ['batches accepted', String(accepted.size)],
        ['turns committed', String(tally.turns)],
        ['inputs joined into a shared turn', String(tally.joinedInputs)],
        ['mid-turn deliveries (double-texts)', String(tally.midTurn)],
        ['dead letters', String(letters.length)],
        ['turns/s', (tally.turns / seconds).toFixed(1)],
        ['enqueue→start p50 / p99 (ms)', `${percentile(tally.startLatencyMs, 50).toFixed(1)} / ${percentile(tally.startLatencyMs, 99).toFixed(1)}`],
        ['commit p50 / p99 (ms)', `${percentile(tally.commitMs, 50).toFixed(1)} / ${percentile(tally.commitMs, 99).toFixed(1)}`],
        ['wall time (s)', seconds.toFixed(1)],
      ],
    ),
  );
  await queue.close();
  connection.disconnect();
  await store.close();
}

/** One simulated user: a message, then follow-ups; every third user double-texts, every fourth sends a joined burst, every fifth resets. */
async function chat(producer: Producer, sessionId: string, index: number, accepted: Set<string>): Promise<void> {
  const send = async (text: string, extra: Partial<Parameters<Producer['enqueueTurnInput']>[0]> = {}) => {
    const batch = await producer.enqueueTurnInput({ sessionId, text, ...extra });
    accepted.add(batch.batchId);
  };
  await sleep(index * 15);
  for (let m = 0; m < MESSAGES; ) {
    if (index % 4 === 1 && m + 2 < MESSAGES) {
      const mergeKey = { kind: 'group', key: 'burst' } as const;
      await Promise.all([0, 1, 2].map((k) => send(`burst ${m + k}`, { slotPolicy: 'join', mergeKey, sourceKey: `m${m + k}` })));
      m += 3;
    } else if (index % 3 === 0 && m + 1 < MESSAGES) {
      await send(`question ${m}`, { sourceKey: `m${m}` });
      await sleep(40);
      await send(`actually, also ${m + 1}`, { deliveryPolicy: 'earliest_safe_boundary', sourceKey: `m${m + 1}` });
      m += 2;
    } else {
      await send(`message ${m}`, { sourceKey: `m${m}` });
      m += 1;
    }
    await sleep(60 + ((index * 37 + m * 11) % 90));
  }
  if (index % 5 === 4) {
    const batch = await producer.submitSessionCommand(sessionId, { kind: 'refresh_tool_catalog', reason: 'demo' }, 'refresh-1');
    accepted.add(batch.batchId);
  }
}

async function waitForDrain(store: RuntimeStore, accepted: Set<string>, progress: Progress): Promise<void> {
  for (;;) {
    let remaining = 0;
    let after = 0;
    for (;;) {
      const page = await store.queue.scan({ afterEnqueueSeq: after, limit: 1000 });
      remaining += page.filter((b) => accepted.has(b.batchId)).length;
      if (page.length < 1000) break;
      after = page[page.length - 1]!.enqueueSeq;
    }
    progress.update(accepted.size - remaining, accepted.size);
    if (remaining === 0) return;
    await sleep(200);
  }
}

async function startWorkers(count: number, thinkMs: number, tally: Tally): Promise<ChildProcess[]> {
  // From source (a checkout) through tsx; from the installed package, the compiled twin.
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './main.ts' : './main.js', import.meta.url));
  const workers = Array.from({ length: count }, () =>
    fork(entry, [], {
      execArgv: fromSource ? ['--import', 'tsx'] : [],
      // The children read their configuration from this environment, like any worker process;
      // they log warnings only, so the demo's own output stays readable.
      env: { ...process.env, LOG_LEVEL: 'warn', DEMO_THINK_MS: String(thinkMs), TURNLANE_REPORT_EVENTS: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.on('message', (msg: WorkerMessage) => {
            if (msg.type === 'ready') resolve();
            else if (msg.type === 'turn') {
              tally.turns++;
              if (msg.batches > 1) tally.joinedInputs += msg.batches;
              tally.midTurn += msg.midTurn;
              tally.startLatencyMs.push(...msg.startLatencyMs);
              tally.commitMs.push(msg.commitMs);
            }
          });
          w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before it was ready`)));
        }),
    ),
  );
  return workers;
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null) return resolve();
          w.once('exit', () => resolve());
          w.kill('SIGTERM');
        }),
    ),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

if (fileURLToPath(import.meta.url) === process.argv[1]) {
  runDemo().catch((err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
