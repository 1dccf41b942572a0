/**
 * One process of a compared system, forked by bench/processes.ts with BENCH_ROLE:
 * `ceiling` (P1), `bullmq-noop` (P2) or `graphile` (P3). It says `ready`, then reports the units
 * of work it finished every 100 ms until the parent ends it with SIGTERM.
 */
import { runCeilingChild } from './scenarios/p1-ceiling.js';
import { runBullmqNoopChild } from './peers/bullmq-noop.js';
import { runGraphileChild } from './peers/graphile.js';
import type { ChildMessage } from './processes.js';

export interface ChildContext {
  env: NodeJS.ProcessEnv;
  index: number;
  /** Counts finished units; the count is sent to the parent every 100 ms. */
  done(units?: number): void;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  let pending = 0;
  const context: ChildContext = {
    env: process.env,
    index: Number(process.env.BENCH_CHILD_INDEX ?? 0),
    done: (units = 1) => void (pending += units),
  };
  setInterval(() => {
    if (pending === 0) return;
    send({ type: 'progress', done: pending });
    pending = 0;
  }, 100);
  process.on('SIGTERM', () => {
    if (pending > 0) send({ type: 'progress', done: pending });
    process.exit(0);
  });
  const role = process.env.BENCH_ROLE;
  const start = role === 'ceiling' ? runCeilingChild : role === 'bullmq-noop' ? runBullmqNoopChild : role === 'graphile' ? runGraphileChild : undefined;
  if (!start) throw new Error(`BENCH_ROLE: expected ceiling, bullmq-noop or graphile, got ${role}`);
  await start(context);
  send({ type: 'ready' });
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
