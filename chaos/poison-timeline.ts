/**
 * Where the poison scenario's time goes: runs chaos/scenarios/poison.ts unchanged, once, and
 * records around it a timeline the scenario does not keep: each worker's fork and ready time (the
 * restart cost), each worker exit, each lease takeover (rescue), BullMQ `stalled` events, machine
 * CPU use per phase, and commits per 500 ms. Prints a summary; writes the raw timeline to
 * chaos/results/poison-timeline-<date>.json.
 *
 *   node --import tsx chaos/poison-timeline.ts --seed 20261121 [--no-isolation] [--compiled-workers]
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import { fork } from 'node:child_process';
import { ChaosWorld, REDIS_URL, type ChaosWorker } from './harness.js';
import type { WorkerMessage } from '../workers/main.js';
import { poison } from './scenarios/poison.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Busy and total jiffies of all cores, from /proc/stat. */
function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU seconds (user + system) of every process now, by pid, from /proc/<pid>/stat; with command name and parent. */
function processCpu(): Map<number, { name: string; ppid: number; seconds: number }> {
  const out = new Map<number, { name: string; ppid: number; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { name, ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

interface Timeline {
  phases: Array<{ name: string; startMs: number; endMs: number }>;
  /** bootCpuS: CPU seconds the worker had used when it reported ready (its own process only; tsx's esbuild child is not counted). */
  workers: Array<{ index: number; pid: number; forkMs: number; readyMs: number; bootCpuS: number; exitMs?: number; code?: number | null }>;
  stalled: Array<{ atMs: number; jobId: string }>;
  cpu: Array<{ atMs: number; busy: number }>;
  /** CPU seconds per phase: this run's worker processes (with their children), this orchestrator, postgres (every database), redis, everything else on the machine. */
  cpuBy: Record<string, Record<string, number>>;
}

const seed = Number(argValue('--seed') ?? 20261121);
// --no-isolation: the same run with ISOLATE_SUSPECT_TURNS=0, for the before/after comparison.
const isolation = !process.argv.includes('--no-isolation');
const world = new ChaosWorld({ name: 'poison', seed, env: { ...poison.env, ...(isolation ? {} : { ISOLATE_SUSPECT_TURNS: '0' }) } });
const timeline: Timeline = { phases: [], workers: [], stalled: [], cpu: [], cpuBy: {} };

// --compiled-workers: fork dist/workers/main.js (`npx tsc -p tsconfig.build.json`) instead of
// workers/main.ts under tsx, to see what a cheaper restart would change. Same environment and reports.
const compiled = process.argv.includes('--compiled-workers');
const COMPILED_ENTRY = fileURLToPath(new URL('../dist/workers/main.js', import.meta.url));
let compiledSerial = 1000;
async function startCompiledWorker(): Promise<ChaosWorker> {
  const index = compiledSerial++;
  const child = fork(COMPILED_ENTRY, [], { execArgv: [], env: { ...process.env, ...world.workerEnv(), TURNLANE_REPORT_EVENTS: '1' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const worker: ChaosWorker = { index, child, pid: child.pid!, exited, alive: () => child.exitCode === null && child.signalCode === null };
  child.on('message', (m: WorkerMessage) => world.history.push({ ...m, worker: index, pid: worker.pid, atMs: world.elapsed() }));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: WorkerMessage) => m.type === 'ready' && resolve());
    void exited.then(({ code }) => reject(new Error(`worker exited before ready (code ${code})`)));
  });
  world.workers.push(worker);
  return worker;
}

// Instrument the world's own methods; the scenario's code and sizes stay as they are.
const startWorker = compiled ? startCompiledWorker : world.startWorker.bind(world);
world.startWorker = async (options) => {
  const forkMs = world.elapsed();
  const w = await startWorker(options);
  const entry: Timeline['workers'][number] = { index: w.index, pid: w.pid, forkMs, readyMs: world.elapsed(), bootCpuS: processCpu().get(w.pid)?.seconds ?? 0 };
  timeline.workers.push(entry);
  void w.exited.then(({ code }) => {
    entry.exitMs = world.elapsed();
    entry.code = code;
  });
  return w;
};
let phaseNo = 0;
const enqueueRounds = world.enqueueRounds.bind(world);
world.enqueueRounds = async (...args) => {
  timeline.phases.push({ name: phaseNo++ === 0 ? 'clean' : 'poison', startMs: world.elapsed(), endMs: 0 });
  return enqueueRounds(...args);
};
const drained = world.drained.bind(world);
world.drained = async (timeoutMs) => {
  const ok = await drained(timeoutMs);
  timeline.phases[timeline.phases.length - 1]!.endMs = world.elapsed();
  return ok;
};

await world.open();
const events = new QueueEvents(world.settings.queueName, { connection: { url: REDIS_URL }, prefix: world.settings.prefix });
events.on('stalled', ({ jobId }) => timeline.stalled.push({ atMs: world.elapsed(), jobId }));
await events.waitUntilReady();
let last = cpuTicks();
let lastByPid = processCpu();
const sampler = setInterval(() => {
  const now = cpuTicks();
  timeline.cpu.push({ atMs: world.elapsed(), busy: (now.busy - last.busy) / Math.max(1, now.total - last.total) });
  last = now;
  // Per-process CPU since the last sample, attributed to the phase under way (a process that ended
  // since the last sample loses at most its last 250 ms).
  const phase = timeline.phases[timeline.phases.length - 1];
  const byPid = processCpu();
  if (phase && phase.endMs === 0) {
    const bucket = (timeline.cpuBy[phase.name] ??= {});
    for (const [pid, p] of byPid) {
      const before = lastByPid.get(pid)?.seconds ?? 0;
      const delta = p.seconds - before;
      if (delta <= 0) continue;
      // Workers are this process's children (from fork on), with their own children (tsx's esbuild).
      const worker = p.ppid === process.pid || byPid.get(p.ppid)?.ppid === process.pid;
      const who = worker ? 'workers' : pid === process.pid ? 'orchestrator' : p.name.startsWith('postgres') ? 'postgres' : p.name.startsWith('redis') ? 'redis' : 'other';
      bucket[who] = (bucket[who] ?? 0) + delta;
    }
  }
  lastByPid = byPid;
}, 250);

const outcome = await poison.run(world, false);
clearInterval(sampler);
await world.stopWorkers();
const letters = await world.store.queue.listDeadLetters();
await events.close();

// ---- summary ----
const [clean, poisoned] = timeline.phases as [Timeline['phases'][number], Timeline['phases'][number]];
const within = (t: number, p: { startMs: number; endMs: number }) => t >= p.startMs && t <= p.endMs;
const turns = world.history.filter((h) => h.type === 'turn');
const crashes = timeline.workers.filter((w) => w.exitMs !== undefined && w.code === 86).sort((a, b) => a.exitMs! - b.exitMs!);
const restarts = timeline.workers.filter((w) => within(w.forkMs, poisoned));
const takeovers = world.history.filter((h) => h.type === 'takeover' && within(h.atMs, poisoned));
const cpuOf = (p: { startMs: number; endMs: number }) => {
  const s = timeline.cpu.filter((c) => within(c.atMs, p));
  return s.reduce((a, c) => a + c.busy, 0) / Math.max(1, s.length);
};
const seconds = (p: { startMs: number; endMs: number }) => (p.endMs - p.startMs) / 1000;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(`[timeline] seed ${seed}, isolation ${isolation ? 'on' : 'off'}, workers ${compiled ? 'compiled (dist)' : 'tsx'}; scenario extra ${JSON.stringify(outcome.extra)}; failures ${JSON.stringify(outcome.failures)}`);
for (const p of [clean, poisoned]) {
  const n = turns.filter((t) => within(t.atMs, p)).length;
  console.log(`[timeline] ${p.name}: ${seconds(p).toFixed(2)} s, ${n} commits, ${(n / seconds(p)).toFixed(0)} commits/s, machine CPU busy ${(cpuOf(p) * 100).toFixed(0)} %`);
}
for (const [name, by] of Object.entries(timeline.cpuBy)) {
  console.log(`[timeline] ${name} CPU seconds: ${Object.entries(by).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
}
const boot = restarts.map((w) => w.readyMs - w.forkMs);
console.log(`[timeline] worker exits (code 86): ${crashes.length}; restarts in the poison phase: ${restarts.length}, fork→ready ${boot.map((b) => (b / 1000).toFixed(2)).join(', ')} s (sum ${fmt(boot.reduce((a, b) => a + b, 0))}), CPU to ready ${restarts.map((w) => w.bootCpuS.toFixed(2)).join(', ')} s`);
// Time with fewer than 3 live workers during the poison phase, in 50 ms steps.
let short = 0;
for (let t = poisoned.startMs; t < poisoned.endMs; t += 50) {
  const live = timeline.workers.filter((w) => w.readyMs <= t && (w.exitMs === undefined || w.exitMs > t)).length;
  if (live < 3) short += 50;
}
console.log(`[timeline] poison phase time with < 3 ready workers: ${fmt(short)} of ${seconds(poisoned).toFixed(2)} s`);
for (const c of crashes) {
  const after = takeovers.filter((t) => t.atMs >= c.exitMs! && t.atMs < c.exitMs! + 3000);
  const first = after[0];
  console.log(`[timeline]   worker ${c.index} exited at ${fmt(c.exitMs! - poisoned.startMs)}: ${after.length} takeovers within 3 s, first after ${first ? fmt(first.atMs - c.exitMs!) : '-'}`);
}
console.log(`[timeline] BullMQ stalled events in the poison phase: ${timeline.stalled.filter((s) => within(s.atMs, poisoned)).length}${timeline.stalled.length ? ` (at ${timeline.stalled.map((s) => fmt(s.atMs - poisoned.startMs)).join(', ')})` : ''}`);
const lastCommit = Math.max(...turns.filter((t) => within(t.atMs, poisoned)).map((t) => t.atMs));
console.log(`[timeline] last poison-phase commit at ${fmt(lastCommit - poisoned.startMs)}; phase ended (drain seen) at ${fmt(poisoned.endMs - poisoned.startMs)}`);
const buckets: number[] = [];
for (const t of turns.filter((t) => within(t.atMs, poisoned))) {
  const b = Math.floor((t.atMs - poisoned.startMs) / 500);
  buckets[b] = (buckets[b] ?? 0) + 1;
}
console.log(`[timeline] poison-phase commits per 500 ms: ${Array.from(buckets, (b) => b ?? 0).join(' ')}`);
// Each 500 ms of the phase by what limited it: no ready worker (restarts), ready workers but no
// commit (work waiting for delivery: stalled BullMQ jobs, leases nobody rescued), or committing.
const readyAt = (t: number) => timeline.workers.filter((w) => w.readyMs <= t && (w.exitMs === undefined || w.exitMs > t)).length;
let noWorker = 0;
let idle = 0;
let working = 0;
for (let b = 0; b * 500 < poisoned.endMs - poisoned.startMs; b++) {
  const ready = readyAt(poisoned.startMs + b * 500 + 250);
  if (ready === 0) noWorker++;
  else if ((buckets[b] ?? 0) === 0) idle++;
  else working++;
}
console.log(`[timeline] poison-phase 500 ms buckets: ${noWorker} with no ready worker, ${idle} with ready workers and no commit, ${working} committing`);
const cleanBuckets: number[] = [];
for (const t of turns.filter((t) => within(t.atMs, clean))) {
  const b = Math.floor((t.atMs - clean.startMs) / 500);
  cleanBuckets[b] = (cleanBuckets[b] ?? 0) + 1;
}
console.log(`[timeline] clean-phase commits per 500 ms: ${Array.from(cleanBuckets, (b) => b ?? 0).join(' ')}`);
// Collateral: failed attempts the batches of committed turns carried (interruptions by another
// input's crash; the demo agent throws only on !poison, and those batches never commit).
const carried = turns.filter((t) => within(t.atMs, poisoned)).flatMap((t) => (t.type === 'turn' ? t.attempts ?? [] : []));
console.log(`[timeline] committed poison-phase batches that had been interrupted before: ${carried.filter((n) => n > 0).length} (once ${carried.filter((n) => n === 1).length}, twice or more ${carried.filter((n) => n > 1).length}) of ${carried.length} reported`);
for (const t of turns) {
  if (t.type !== 'turn' || !(t.attempts ?? []).some((n) => n > 1)) continue;
  const around = world.history.filter((h) => 'sessionId' in h && h.sessionId === t.sessionId && h.type !== 'turn').map((h) => `${h.type}@w${h.worker} ${fmt(h.atMs - poisoned.startMs)}`);
  console.log(`[timeline]   interrupted ${t.attempts.join('/')} times: ${t.sessionId} rev ${t.headRevision} committed by w${t.worker} at ${fmt(t.atMs - poisoned.startMs)}; ${around.join(', ')}`);
}
// The spec's words: "other sessions keep at least 80 % of their throughput". Sessions with no
// poison input: their commits over the time until their last commit, against the clean phase.
const poisonedSessions = new Set([...world.accepted.values()].filter((b) => /!(poison|exit)/.test(JSON.stringify(b.items))).map((b) => b.sessionId));
const others = turns.filter((t) => within(t.atMs, poisoned) && !poisonedSessions.has(t.sessionId));
const othersEnd = Math.max(...others.map((t) => t.atMs));
const cleanTurns = turns.filter((t) => within(t.atMs, clean));
const cleanEnd = Math.max(...cleanTurns.map((t) => t.atMs));
const othersRate = others.length / ((othersEnd - poisoned.startMs) / 1000);
const cleanRate = cleanTurns.length / ((cleanEnd - clean.startMs) / 1000);
console.log(`[timeline] sessions without poison (${100 - poisonedSessions.size}): ${others.length} commits, last at ${fmt(othersEnd - poisoned.startMs)}: ${othersRate.toFixed(0)} commits/s vs clean ${cleanRate.toFixed(0)} (to its last commit): ${((othersRate / cleanRate) * 100).toFixed(0)} %`);
const othersAt = others.map((t) => t.atMs - poisoned.startMs).sort((a, b) => a - b);
const cleanAt = cleanTurns.map((t) => t.atMs - clean.startMs).sort((a, b) => a - b);
const pct = (xs: number[], q: number) => fmt(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!);
console.log(`[timeline] commits done at 50/90/99 %: clean ${pct(cleanAt, 0.5)} / ${pct(cleanAt, 0.9)} / ${pct(cleanAt, 0.99)}; sessions without poison ${pct(othersAt, 0.5)} / ${pct(othersAt, 0.9)} / ${pct(othersAt, 0.99)}`);
const late = others.filter((t) => t.atMs - poisoned.startMs > (othersEnd - poisoned.startMs) * 0.8);
console.log(`[timeline] sessions without poison committing in the last 20 % of their span: ${[...new Set(late.map((t) => t.sessionId))].join(' ')}`);
const poisonIds = new Set([...world.accepted.values()].filter((b) => /!(poison|exit)/.test(JSON.stringify(b.items))).map((b) => b.batchId));
const innocent = letters.filter((l) => !poisonIds.has(l.batchId));
console.log(`[timeline] dead letters: ${letters.length} (${letters.length - innocent.length} poison, ${innocent.length} innocent)`);
for (const l of innocent) console.log(`[timeline]   innocent ${l.sessionId} ${l.batchId}: attempts ${l.attempts}, ${l.reason.slice(0, 60)}`);
for (const l of letters.filter((l) => poisonIds.has(l.batchId))) console.log(`[timeline]   poison ${l.sessionId}: attempts ${l.attempts}, ${l.reason.slice(0, 70)}`);

mkdirSync(RESULTS, { recursive: true });
const file = `${RESULTS}poison-timeline-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, `${JSON.stringify({ seed, isolation, compiled, outcome: { extra: outcome.extra, failures: outcome.failures }, timeline, takeovers, letters: letters.map((l) => ({ batchId: l.batchId, sessionId: l.sessionId, attempts: l.attempts, reason: l.reason })) }, null, 2)}\n`);
console.log(`[timeline] wrote ${file}`);
await world.close();
process.exit(0);
