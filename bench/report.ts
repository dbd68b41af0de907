// Benchmark results: one row per measurement, printed as a table and as one JSON line each.
export type BenchRow = Record<string, string | number>;

export interface Benchmark {
  name: string;
  summary: string;
  run(): Promise<BenchRow[]>;
}

export function printRows(bench: string, rows: BenchRow[]): void {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
  for (const r of rows) console.log(JSON.stringify({ bench, ...r }));
}

/** Median wall time in ms of `fn` over `runs` runs after `warmup` runs. */
export async function timeMs(fn: () => Promise<void>, runs = 3, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
