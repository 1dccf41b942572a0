/** Terminal output of the demo and the benchmarks: a progress bar and plain tables. */

export class Progress {
  private last = -1;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private total: number,
  ) {}

  update(done: number, total = this.total): void {
    this.total = Math.max(total, 1);
    const ratio = Math.min(1, done / this.total);
    const percent = Math.floor(ratio * 100);
    if (percent === this.last) return;
    const previous = this.last;
    this.last = percent;
    const width = 30;
    const filled = Math.round(ratio * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}% (${done}/${this.total})`;
    // Without a TTY, print each time a 10% mark is crossed so logs stay short (steps may skip the exact mark).
    if (this.tty) process.stderr.write(`\r${line}`);
    else if (Math.floor(percent / 10) !== Math.floor(previous / 10)) process.stderr.write(`${line}\n`);
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
