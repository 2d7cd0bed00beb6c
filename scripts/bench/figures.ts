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

export function formatValue(value: number | undefined, unit: Figure['unit']): string {
  if (value === undefined) return '–';
  if (Number.isNaN(value)) return 'no sample';
  switch (unit) {
    case 'ms':
      return `${value.toFixed(1)} ms`;
    case 'jobs/s':
      return `${value.toFixed(1)} jobs/s`;
    case '%':
      return `${value.toFixed(1)} %`;
    case '×':
      return `${value.toFixed(2)} ×`;
    case 'MiB':
      return `${value.toFixed(1)} MiB`;
  }
}

export const target = (f: Figure) => `${f.bound === 'max' ? '≤' : '≥'} ${formatValue(f.limit, f.unit)}`;

/** `| figure | measured | target | PASS/FAIL |` as Markdown. */
export function figureTable(figures: Figure[]): string[] {
  return ['| figure | measured | target | verdict |', '|---|---|---|---|', ...figures.map((f) => `| ${f.figure} | ${formatValue(f.measured, f.unit)} | ${target(f)} | ${verdict(f)}${f.failure && f.measured !== undefined ? `: ${f.failure}` : ''} |`)];
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
