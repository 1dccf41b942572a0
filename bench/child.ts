/**
 * One process of a compared system, forked by bench/processes.ts with BENCH_ROLE:
 * `ceiling` (P1), `bullmq-noop` (P2), `graphile` (P3) or `graphile-agent` (P3 in P9's shape). It
 * says `ready`, then reports the units of work it finished every 100 ms until the parent ends it
 * with SIGTERM.
 */
import { runCeilingChild } from './scenarios/p1-ceiling.js';
import { runBullmqNoopChild } from './peers/bullmq-noop.js';
import { runGraphileAgentChild, runGraphileChild } from './peers/graphile.js';
import type { ChildMessage } from './processes.js';

export interface ChildContext {
  env: NodeJS.ProcessEnv;
  index: number;
  /** Counts finished units; the count is sent to the parent every 100 ms. */
  done(units?: number): void;
  /** Records one unit's enqueue→start latency, sent with the next report. */
  started(latencyMs: number): void;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  let pending = 0;
  let latencies: number[] = [];
  const context: ChildContext = {
    env: process.env,
    index: Number(process.env.BENCH_CHILD_INDEX ?? 0),
    done: (units = 1) => void (pending += units),
    started: (latencyMs) => void latencies.push(latencyMs),
  };
  const report = () => {
    if (pending === 0 && latencies.length === 0) return;
    send({ type: 'progress', done: pending, latenciesMs: latencies });
    pending = 0;
    latencies = [];
  };
  setInterval(report, 100);
  process.on('SIGTERM', () => {
    report();
    process.exit(0);
  });
  const role = process.env.BENCH_ROLE;
  const roles: Record<string, (context: ChildContext) => Promise<void>> = {
    ceiling: runCeilingChild,
    'bullmq-noop': runBullmqNoopChild,
    graphile: runGraphileChild,
    'graphile-agent': runGraphileAgentChild,
  };
  const start = role === undefined ? undefined : roles[role];
  if (!start) throw new Error(`BENCH_ROLE: expected one of ${Object.keys(roles).join(', ')}, got ${role}`);
  await start(context);
  send({ type: 'ready' });
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
