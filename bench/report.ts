/**
 * Results: the verdicts against spec 06's targets, the JSON record, the Markdown table, the SVG
 * chart (hand-written: horizontal bars with min–max whiskers) and the printed table.
 */
import { renderTable } from '../workers/terminal.js';
import type { Metrics, MetricSpec, Sizes, Summary } from './harness.js';
import { median } from './harness.js';
import { sizeLabel } from './scenarios/p7-growth.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  metrics: Array<MetricSpec & Summary>;
  runs: Metrics[];
}

export interface Verdict {
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResult {
  date: string;
  /** The git commit measured. */
  revision: string;
  command: string;
  quick: boolean;
  /** True while the run is still going (or was cut short): only the scenarios listed were measured. */
  partial: boolean;
  machine: Machine;
  sizes: Sizes;
  scenarios: ScenarioResult[];
  verdicts: Verdict[];
  /** Repetitions run again because they failed (a service restarted under them). */
  retriedRepetitions: number;
  wallSeconds: number;
}

export function format(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit && unit !== '/s' ? ` ${unit}` : ''}`;
}

function metric(results: ScenarioResult[], id: string, key: string): Summary | undefined {
  return results.find((r) => r.id === id)?.metrics.find((m) => m.key === key);
}

/** Median over repetitions of a per-repetition ratio: repetition r of both ran back to back. */
function pairedRatio(results: ScenarioResult[], a: [string, string], b: [string, string]): number {
  const ra = results.find((r) => r.id === a[0])?.runs ?? [];
  const rb = results.find((r) => r.id === b[0])?.runs ?? [];
  const ratios = ra.map((run, i) => (run[a[1]] ?? NaN) / (rb[i]?.[b[1]] ?? NaN)).filter((x) => Number.isFinite(x));
  return median(ratios);
}

export function verdicts(results: ScenarioResult[], sizes: Sizes): Verdict[] {
  const out: Verdict[] = [];
  const has = (id: string) => results.some((r) => r.id === id);
  const value = (id: string, key: string) => metric(results, id, key)?.median ?? Number.NaN;
  const ratio = (label: string, v: number, min: number) => out.push({ target: `${label} ≥ ${min} ×`, measured: `${format(v)} ×`, met: v >= min });
  const atMost = (label: string, v: number, max: number, unit = '') =>
    out.push({ target: `${label} ≤ ${max}${unit ? ` ${unit}` : ''}`, measured: format(v, unit), met: v <= max });
  if (has('P4') && has('P3')) ratio('P4 turns/s vs P3 graphile-worker jobs/s', pairedRatio(results, ['P4', 'turnsPerSec'], ['P3', 'jobsPerSec']), 3);
  if (has('P4') && has('P1')) ratio('P4 turns/s vs P1 ceiling pairs/s', pairedRatio(results, ['P4', 'turnsPerSec'], ['P1', 'pairsPerSec']), 0.5);
  if (has('P5')) {
    const perTurn = value('P5', 'inputsPerTurn');
    out.push({ target: 'P5 inputs per turn ≥ 2.5', measured: format(perTurn), met: perTurn >= 2.5 });
    if (has('P4')) ratio('P5 inputs/s vs P4 inputs/s', pairedRatio(results, ['P5', 'inputsPerSec'], ['P4', 'turnsPerSec']), 2);
  }
  if (has('P6')) {
    atMost('P6 at 50 % of P4s: enqueue→turn-start p99', value('P6', 'startP99_50'), 25, 'ms');
    atMost('P6 at 50 % of P4s: commit p99', value('P6', 'commitP99_50'), 10, 'ms');
    atMost('P6 at 80 % of P4s: enqueue→turn-start p99', value('P6', 'startP99_80'), 100, 'ms');
  }
  if (has('P7')) {
    const small = sizeLabel(sizes.growthQueued[0]!);
    const large = sizeLabel(sizes.growthQueued.at(-1)!);
    const claim = value('P7', `claimP99_${large}`) / value('P7', `claimP99_${small}`);
    out.push({ target: `P7 claim p99 at ${large} queued ≤ 1.5 × at ${small}`, measured: `${format(claim)} ×`, met: claim <= 1.5 });
    const few = sizeLabel(sizes.growthSessions[0]!);
    const mid = sizeLabel(sizes.growthSessions[1] ?? sizes.growthSessions[0]!);
    const many = sizeLabel(sizes.growthSessions.at(-1)!);
    const tput = pairedRatio(results, ['P7', `turnsPerSec_${many}`], ['P7', `turnsPerSec_${few}`]);
    out.push({ target: `P7 turns/s at ${many} sessions ≥ 0.8 × at ${few}`, measured: `${format(tput)} ×`, met: tput >= 0.8 });
    ratio(`P7 turns/s at ${few} sessions vs at ${mid}`, pairedRatio(results, ['P7', `turnsPerSec_${few}`], ['P7', `turnsPerSec_${mid}`]), 0.5);
  }
  if (has('P8')) {
    const same = value('P8', 'sameAllS');
    const other = value('P8', 'otherAllS');
    const limit = sizes.leaseTtlMs / 1000 + 2;
    out.push({ target: 'P8 same host: all committed ≤ 2 s', measured: format(same, 's'), met: same <= 2 });
    out.push({ target: `P8 other host: all committed ≤ lease TTL + 2 s = ${limit} s`, measured: format(other, 's'), met: other <= limit });
  }
  if (has('P4')) atMost('Worker resident memory during P4', value('P4', 'peakRssMb'), 250, 'MB');
  if (has('P9')) {
    // Counted only on a server with pg_stat_statements (not in --quick): no verdict without them.
    const statements = value('P9', 'tlStatementsPerTurn');
    if (Number.isFinite(statements)) {
      // The handler's own call: its one checkpoint, one claim statement today.
      atMost("P9 worker statements per turn outside the handler (all less the checkpoint's 1)", statements - 1, 3);
      atMost('P9 heartbeat statements per process per renewal interval', value('P9', 'tlRenewalsPerProcessInterval'), 1);
    }
    atMost('P9 enqueue→turn-start p99', value('P9', 'tlStartP99'), 50, 'ms');
    const cpu = pairedRatio(results, ['P9', 'tlCpuPerTurnMs'], ['P9', 'gwCpuPerJobMs']);
    out.push({ target: "P9 worker CPU per turn ≤ graphile-worker's per job (ratio ≤ 1 ×)", measured: `${format(cpu)} ×`, met: cpu <= 1 });
    atMost('Worker resident memory during P9', value('P9', 'tlRssMb'), 250, 'MB');
  }
  if (has('P10')) {
    const [first, second] = sizes.clientRates;
    if (first !== undefined) atMost(`P10 at ${first} inputs/s: send → commit on the stream p99`, value('P10', `visibleP99_${first}`), 50, 'ms');
    if (second !== undefined) atMost(`P10 at ${second} inputs/s: send → commit on the stream p99`, value('P10', `visibleP99_${second}`), 150, 'ms');
    atMost('P10 POST → 202 p99 (the worse rate)', Math.max(...sizes.clientRates.map((r) => value('P10', `postP99_${r}`))), 20, 'ms');
  }
  return out;
}

function rows(result: BenchResult): string[][] {
  return result.scenarios.flatMap((s) =>
    s.metrics.map((m, i) => [i === 0 ? `${s.id} ${s.title}` : '', m.label, format(m.median, m.unit), `${format(m.min)}–${format(m.max)}`, String(m.values.length)]),
  );
}

const HEADER = ['scenario', 'metric', 'median', 'min–max', 'reps'];

export function printable(result: BenchResult): string {
  const verdictRows = result.verdicts.map((v) => [v.target, v.measured, v.met ? 'met' : 'MISSED']);
  return [renderTable(HEADER, rows(result)), '', renderTable(['target', 'measured', ''], verdictRows)].join('\n');
}

export function markdown(result: BenchResult): string {
  const m = result.machine;
  const esc = (cell: string) => cell.replace(/\|/g, '\\|');
  const table = (header: string[], body: string[][]) =>
    [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
  return [
    `# turnlane benchmark, ${result.date}${result.quick ? ' (quick)' : ''}${result.partial ? ' (partial: the run did not finish)' : ''}`,
    '',
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; Redis ${m.redis}.`,
    `Command: \`${result.command}\` at ${result.revision} (${Math.round(result.wallSeconds)} s). Each number: median of ${result.sizes.reps} repetitions after a warm-up, with min–max; P1–P5 and P4s alternate repetition by repetition. Repetitions retried after a failure: ${result.retriedRepetitions}.`,
    '',
    table(HEADER, rows(result)),
    '',
    table(['target (spec 06, issue 12)', 'measured', 'verdict'], result.verdicts.map((v) => [v.target, v.measured, v.met ? 'met' : '**missed**'])),
    '',
  ].join('\n');
}

interface Bar {
  label: string;
  summary: Summary;
  unit: string;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One panel of horizontal bars (median) with min–max whiskers, on a linear axis from 0. */
function panel(title: string, bars: Bar[], y: number, width: number): { svg: string; height: number } {
  const left = 250;
  const right = 90;
  const rowHeight = 26;
  const max = Math.max(...bars.map((b) => b.summary.max), 1e-9);
  const scale = (v: number) => left + ((width - left - right) * v) / max;
  const parts = [`<text x="10" y="${y + 18}" font-weight="bold">${escapeXml(title)}</text>`];
  bars.forEach((bar, i) => {
    const top = y + 30 + i * rowHeight;
    const mid = top + 9;
    parts.push(
      `<text x="${left - 8}" y="${mid + 4}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${left}" y="${top}" width="${Math.max(1, scale(bar.summary.median) - left).toFixed(1)}" height="18" fill="${i % 2 === 0 ? '#4f7cac' : '#7aa6d6'}"/>`,
      `<line x1="${scale(bar.summary.min).toFixed(1)}" x2="${scale(bar.summary.max).toFixed(1)}" y1="${mid}" y2="${mid}" stroke="#222"/>`,
      `<line x1="${scale(bar.summary.min).toFixed(1)}" x2="${scale(bar.summary.min).toFixed(1)}" y1="${mid - 5}" y2="${mid + 5}" stroke="#222"/>`,
      `<line x1="${scale(bar.summary.max).toFixed(1)}" x2="${scale(bar.summary.max).toFixed(1)}" y1="${mid - 5}" y2="${mid + 5}" stroke="#222"/>`,
      `<text x="${(scale(bar.summary.max) + 6).toFixed(1)}" y="${mid + 4}">${escapeXml(format(bar.summary.median, bar.unit))}${bar.unit === '/s' ? '/s' : ''}</text>`,
    );
  });
  return { svg: parts.join('\n'), height: 40 + bars.length * rowHeight };
}

export function svgChart(result: BenchResult): string {
  const width = 760;
  const pick = (id: string, key: string, label: string): Bar[] => {
    const s = result.scenarios.find((r) => r.id === id)?.metrics.find((m) => m.key === key);
    return s ? [{ label, summary: s, unit: s.unit }] : [];
  };
  const throughput = [
    ...pick('P1', 'pairsPerSec', 'P1 ceiling (pairs/s)'),
    ...pick('P2', 'jobsPerSec', 'P2 BullMQ no-op (jobs/s)'),
    ...pick('P3', 'jobsPerSec', 'P3 graphile-worker (jobs/s)'),
    ...pick('P4', 'turnsPerSec', 'P4 turnlane (turns/s)'),
    ...pick('P4s', 'turnsPerSec', 'P4s single input (turns/s)'),
    ...pick('P5', 'inputsPerSec', 'P5 turnlane join (inputs/s)'),
  ];
  const latency = [
    ...pick('P6', 'startP50_50', 'P6 50 %: enqueue→start p50'),
    ...pick('P6', 'startP99_50', 'P6 50 %: enqueue→start p99'),
    ...pick('P6', 'commitP99_50', 'P6 50 %: commit p99'),
    ...pick('P6', 'startP99_80', 'P6 80 %: enqueue→start p99'),
    ...pick('P6', 'commitP99_80', 'P6 80 %: commit p99'),
    ...pick('P9', 'tlStartP99', 'P9 turnlane: enqueue→start p99'),
    ...pick('P9', 'gwStartP99', 'P9 graphile: enqueue→start p99'),
    ...result.sizes.clientRates.flatMap((r) => pick('P10', `visibleP99_${r}`, `P10 ${r}/s: send→visible p99`)),
  ];
  const panels: string[] = [];
  let y = 34;
  for (const [title, bars] of [
    ['Throughput (median, whiskers min–max)', throughput],
    ['Latency (ms)', latency],
  ] as const) {
    if (bars.length === 0) continue;
    const p = panel(title, bars, y, width);
    panels.push(p.svg);
    y += p.height + 10;
  }
  const m = result.machine;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 20}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">turnlane benchmark ${escapeXml(result.date)}: ${m.cpus} cores, PostgreSQL ${escapeXml(m.postgres.split(' ')[0]!)}, Redis ${escapeXml(m.redis)}</text>`,
    ...panels,
    `<text x="10" y="${y + 8}" fill="#555">median of ${result.sizes.reps} repetitions; whiskers: min–max</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
