import { animeRegistry, collectProcessMetrics } from '@anime/pipeline';

export interface ExportedMetric {
  type: string;
  /** The label names its series carry (prom-client's process metrics add `service`). */
  labels: ReadonlySet<string>;
}

/**
 * Every metric a service's /metrics serves (metricsText): prom-client's process metrics as
 * collectProcessMetrics registers them, then the anime_* registry; by name.
 */
export function exportedMetrics(): Map<string, ExportedMetric> {
  // A registry of prom-client's own class, without importing prom-client (a dependency of @anime/pipeline only).
  const own = new (animeRegistry.constructor as new () => typeof animeRegistry)();
  collectProcessMetrics(own, 'any');
  const metrics = new Map<string, ExportedMetric>();
  for (const [registry, defaultLabels] of [[own, ['service']], [animeRegistry, []]] as const) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames?: string[] };
      metrics.set(name, { type, labels: new Set([...(labelNames ?? []), ...defaultLabels]) });
    }
  }
  return metrics;
}

/** The exported metric a series name belongs to (a histogram's `_bucket`, `_sum`, `_count` included), with the labels of that series. */
export function metricOfSeries(series: string, metrics: Map<string, ExportedMetric>): { name: string; labels: ReadonlySet<string> } | undefined {
  const direct = metrics.get(series);
  if (direct) return { name: series, labels: direct.labels };
  const match = /^(.*)_(bucket|sum|count)$/.exec(series);
  const histogram = match && metrics.get(match[1]);
  if (!match || !histogram || histogram.type !== 'histogram') return undefined;
  return { name: match[1], labels: match[2] === 'bucket' ? new Set([...histogram.labels, 'le']) : histogram.labels };
}
