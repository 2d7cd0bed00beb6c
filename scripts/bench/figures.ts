/** One figure of issue #17: what was measured, against which target. */
export interface Figure {
  figure: string;
  /** NaN when the scenario ran but yielded no sample; undefined when it did not run. */
  measured: number | undefined;
  unit: 'ms' | 'jobs/s' | '%' | '×' | 'MiB';
  /** `max`: measured must be at most `limit`; `min`: at least. */
  bound: 'max' | 'min';
  limit: number;
  /** Set when the figure fails whatever was measured, with why (e.g. a bound the bench cannot wait out). */
  failure?: string;
}

export type Verdict = 'PASS' | 'FAIL' | 'not run';

export function verdict(f: Figure): Verdict {
  if (f.measured === undefined) return 'not run';
  if (f.failure) return 'FAIL';
  if (Number.isNaN(f.measured)) return 'FAIL';
  return (f.bound === 'max' ? f.measured <= f.limit : f.measured >= f.limit) ? 'PASS' : 'FAIL';
}

/** Decimals each unit is shown with. */
const DIGITS: Record<Figure['unit'], number> = { ms: 1, 'jobs/s': 1, '%': 1, '×': 2, MiB: 1 };

/** A value with its unit; `extraDigits` more decimals than the unit's usual. */
export function formatValue(value: number | undefined, unit: Figure['unit'], extraDigits = 0): string {
  if (value === undefined) return '–';
  if (Number.isNaN(value)) return 'no sample';
  return `${value.toFixed(DIGITS[unit] + extraDigits)} ${unit}`;
}

/**
 * The measured value as the table shows it: with as many more decimals as it takes (up to 3) not to
 * read as its target when it is not (0.897 failing ≥ 0.9 would otherwise show as 0.90).
 */
export function measuredText(f: Figure): string {
  let extra = 0;
  while (extra < 3 && f.measured !== undefined && f.measured !== f.limit && formatValue(f.measured, f.unit, extra) === formatValue(f.limit, f.unit, extra)) extra++;
  return formatValue(f.measured, f.unit, extra);
}

export const target = (f: Figure) => `${f.bound === 'max' ? '≤' : '≥'} ${formatValue(f.limit, f.unit)}`;

/** `| figure | measured | target | PASS/FAIL |` as Markdown. */
export function figureTable(figures: Figure[]): string[] {
  return ['| figure | measured | target | verdict |', '|---|---|---|---|', ...figures.map((f) => `| ${f.figure} | ${measuredText(f)} | ${target(f)} | ${verdict(f)}${f.failure && f.measured !== undefined ? `: ${f.failure}` : ''} |`)];
}

/** Percent growth from `before` to `after` (NaN when either is missing). */
export function growthPercent(before: number | null, after: number | null): number {
  if (before === null || after === null || before === 0) return Number.NaN;
  return ((after - before) / before) * 100;
}

/** The worst ratio of k backends' throughput to k × one backend's (the scaling figure). */
export function scalingEfficiency(rows: { backends: number; throughput: number }[]): { backends: number; ratio: number }[] {
  const one = rows.find((r) => r.backends === 1)?.throughput;
  return rows.map((r) => ({ backends: r.backends, ratio: one ? r.throughput / (r.backends * one) : Number.NaN }));
}

/**
 * The jobs a machine's cores can carry per second at a given CPU cost per job: the ceiling a
 * throughput target meets when services, simulators and client share the same cores.
 */
export const cpuCeiling = (cores: number, cpuMsPerJob: number) => (cores * 1000) / cpuMsPerJob;

/** How busy the cores were: CPU ms per job of every process at a rate of jobs per second, as a % of the cores' time. */
export const coresBusyPercent = (cores: number, cpuMsPerJob: number, jobsPerSecond: number) => (cpuMsPerJob * jobsPerSecond) / (cores * 1000) * 100;
