// Shared output for benchmark scripts: a readable table, then, as the very last line, one JSON
// object with the same figures (ratios named ratio_vs_<reference>), for tools to pick up.

export type Figure = string | number | null;
export type Row = Record<string, Figure>;

function formatCell(value: Figure): string {
  if (value === null) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }
  return value;
}

export function printTable(title: string, rows: readonly Row[]): void {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => formatCell(row[column] ?? null)));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => (line[i] ?? '').length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!)))
      .join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const values of cells) console.log(line(values));
}

/** Must be the last thing the benchmark prints. */
export function printJsonSummary(summary: Record<string, unknown>): void {
  console.log(JSON.stringify(summary));
}

/** Samples this process's RSS (and optionally a child's) to report the peak. */
export class PeakRss {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  /** Peak in MB since the last reset. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return Math.round((this.peak / 1024 / 1024) * 10) / 10;
  }
}

export function ratio(value: number, reference: number): number {
  return reference > 0 ? Math.round((value / reference) * 100) / 100 : 0;
}
