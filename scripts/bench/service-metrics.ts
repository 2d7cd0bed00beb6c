import axios from 'axios';

/**
 * The sum of every sample of `name` in a Prometheus text exposition, or of those whose labels hold
 * `label` (e.g. `kind="major"`); NaN when there is none.
 */
export function metricValue(text: string, name: string, label?: string): number {
  let total = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label !== undefined && !labelsOf(line, name).includes(label)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    total = Number.isNaN(total) ? value : total + value;
  }
  return total;
}

/** The labels of a sample line of `name`, `a="1",b="2"`; empty when it has none. */
const labelsOf = (line: string, name: string) => (line[name.length] === '{' ? line.slice(name.length + 1, line.lastIndexOf('}')).split(',') : []);

export interface ServiceCounters {
  /** process_cpu_seconds_total (prom-client: process.cpuUsage user + system), in ms. */
  cpuMs: number;
  /** anime_db_statements_total: statements sent to PostgreSQL. */
  statements: number;
  /** nodejs_gc_duration_seconds_sum over every kind (prom-client's GC observer), in ms: the main thread's pauses. */
  gcMs: number;
}

export interface MetricsEndpoint {
  url: string;
  headers?: Record<string, string>;
}

/** One scrape of a service's /metrics, whatever its status. */
const scrape = (endpoint: MetricsEndpoint) =>
  axios.get<string>(endpoint.url, { headers: endpoint.headers, timeout: 10_000, responseType: 'text', validateStatus: () => true });

export async function readCounters(endpoint: MetricsEndpoint): Promise<ServiceCounters> {
  const res = await scrape(endpoint);
  if (res.status !== 200) throw new Error(`GET ${endpoint.url} answered ${res.status}`);
  return {
    cpuMs: metricValue(res.data, 'process_cpu_seconds_total') * 1000,
    statements: metricValue(res.data, 'anime_db_statements_total'),
    gcMs: metricValue(res.data, 'nodejs_gc_duration_seconds_sum') * 1000,
  };
}

/** A service's heap after its latest major collection, how many major collections it had run by then, and the heap V8 holds now. */
export interface HeapReading {
  /** `anime_heap_after_major_gc_bytes` in MiB; null before its first major collection, or when /metrics does not answer. */
  mib: number | null;
  /** prom-client's `nodejs_gc_duration_seconds_count{kind="major"}`; null when unread. */
  majorCollections: number | null;
  /**
   * prom-client's `nodejs_heap_size_total_bytes` in MiB: what V8 has reserved for its heap right now,
   * garbage not collected yet included (the part of RSS that follows the collections); null when unread.
   */
  committedMib?: number | null;
}

export async function readHeap(endpoint: MetricsEndpoint): Promise<HeapReading> {
  const res = await scrape(endpoint).catch(() => null);
  if (res?.status !== 200) return { mib: null, majorCollections: null, committedMib: null };
  const bytes = metricValue(res.data, 'anime_heap_after_major_gc_bytes');
  const majors = metricValue(res.data, 'nodejs_gc_duration_seconds_count', 'kind="major"');
  const committed = metricValue(res.data, 'nodejs_heap_size_total_bytes');
  return { mib: bytes > 0 ? bytes / 2 ** 20 : null, majorCollections: Number.isNaN(majors) ? null : majors, committedMib: committed > 0 ? committed / 2 ** 20 : null };
}
