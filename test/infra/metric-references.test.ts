import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { JOB_ERROR_CODES, QUEUES } from '@anime/contracts';
import { animeRegistry, BACKEND_STATES, QUEUE_JOB_STATES, WEBHOOK_DELIVERY_OUTCOMES } from '@anime/pipeline';
import { exportedMetrics, metricOfSeries } from './exported-metrics';
import { promqlReferences } from './promql-references';

// What operators query (the Grafana dashboard, the KEDA triggers, any Prometheus rule file under
// infra/) against what the services' /metrics actually serve: a metric or label renamed in code must
// not leave a panel empty or a scaler reading no series.

const ROOT = path.resolve(__dirname, '..', '..');
const metrics = exportedMetrics();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

interface Query {
  source: string;
  expr: string;
}

const dashboardQueries: Query[] = filesUnder(path.join(ROOT, 'infra'))
  .filter((f) => f.endsWith('.json'))
  .flatMap((file) => {
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels?: { title?: string; targets?: { expr?: string }[] }[] };
    return (dashboard.panels ?? []).flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ source: `${path.relative(ROOT, file)}: ${p.title}`, expr: t.expr! })));
  });

const kedaQueries: Query[] = readdirSync(path.join(ROOT, 'infra/k8s/overlays')).flatMap((overlay) => {
  const built = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(built)
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec?: { triggers?: { type: string; metadata: { query?: string } }[] } })
    .filter((r) => r?.kind === 'ScaledObject')
    .flatMap((r) => (r.spec!.triggers ?? []).filter((t) => t.type === 'prometheus').map((t) => ({ source: `overlay ${overlay}: ScaledObject/${r.metadata.name}`, expr: t.metadata.query! })));
});

/** Prometheus rule files (recording or alerting): any YAML under infra/ whose top level is `groups`. */
const ruleQueries: Query[] = filesUnder(path.join(ROOT, 'infra'))
  .filter((f) => /\.ya?ml$/.test(f))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).flatMap((d) => {
      const doc = d.toJS() as { groups?: { rules?: { expr?: string; alert?: string; record?: string }[] }[] } | null;
      return Array.isArray(doc?.groups) ? doc!.groups.flatMap((g) => (g.rules ?? []).map((r) => ({ source: `${path.relative(ROOT, file)}: ${r.alert ?? r.record}`, expr: String(r.expr) }))) : [];
    }),
  );

const queries = [...dashboardQueries, ...kedaQueries, ...ruleQueries];

/** The values a label may take where the code fixes them. */
const LABEL_VALUES: Record<string, Record<string, readonly string[]>> = {
  anime_queue_jobs: { queue: Object.values(QUEUES), state: QUEUE_JOB_STATES },
  anime_job_duration_seconds: { queue: Object.values(QUEUES) },
  anime_backend_state: { state: BACKEND_STATES },
  anime_generation_failures_total: { code: JOB_ERROR_CODES },
  anime_webhook_deliveries_total: { outcome: WEBHOOK_DELIVERY_OUTCOMES },
};

/** Labels Prometheus puts on every series of a target. `instance` is one process; `job` may hold several services (the README's anime-workers holds three). */
const TARGET_LABELS = ['job', 'instance'];

describe('metric names and labels that dashboards, KEDA and rules query', () => {
  it('when the sources are read, then the dashboard and both KEDA triggers of production are among them', () => {
    expect(dashboardQueries.length).toBeGreaterThanOrEqual(10);
    expect(kedaQueries.filter((q) => q.source.startsWith('overlay production')).length).toBe(2);
  });

  it.each(queries.map((q) => [q.source, q.expr]))('when %s is read, then every series it queries is exported, with the labels it selects on', (source, expr) => {
    const refs = promqlReferences(expr);
    expect(refs.series.length).toBeGreaterThan(0);
    const unknown = refs.series.filter((s) => !metricOfSeries(s, metrics));
    expect({ source, unknown }).toEqual({ source, unknown: [] });
    for (const m of refs.matchers) {
      const series = metricOfSeries(m.series, metrics)!;
      expect({ source, series: m.series, label: m.label, known: series.labels.has(m.label) || TARGET_LABELS.includes(m.label) }).toEqual({ source, series: m.series, label: m.label, known: true });
      const allowed = LABEL_VALUES[series.name]?.[m.label];
      if (!allowed || m.op.startsWith('!')) continue;
      const values = m.op === '=~' ? m.value.split('|') : [m.value];
      expect({ source, label: m.label, unknown: values.filter((v) => !allowed.includes(v)) }).toEqual({ source, label: m.label, unknown: [] });
    }
  });

  it.each(queries.map((q) => [q.source, q.expr]))('when %s aggregates, then it groups by labels its series carry (or a join copies in), never by the scrape job', (source, expr) => {
    const refs = promqlReferences(expr);
    const carried = new Set(refs.series.flatMap((s) => [...(metricOfSeries(s, metrics)?.labels ?? [])]));
    const copiedUnknown = refs.copied.filter((l) => !carried.has(l));
    expect({ source, copiedUnknown }).toEqual({ source, copiedUnknown: [] });
    const groupable = new Set([...carried, ...refs.copied, 'instance']);
    expect({ source, notOnSeries: refs.groupedBy.filter((l) => !groupable.has(l)) }).toEqual({ source, notOnSeries: [] });
    expect({ source, joinUnknown: refs.joinedOn.filter((l) => !carried.has(l) && !TARGET_LABELS.includes(l)) }).toEqual({ source, joinUnknown: [] });
  });

  it("when the README's metrics table is read, then it lists exactly the anime_* metrics the services declare, each with its labels", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Metrics (Prometheus)'));
    const rows = [...section.matchAll(/^\| `(anime_[a-z_]+)` \|[^|]+\|([^|]*)\|/gm)].map((m) => ({ name: m[1], labels: m[2] }));
    const declared = animeRegistry.getMetricsAsArray().map((m) => m as unknown as { name: string; labelNames?: string[] });
    expect(rows.map((r) => r.name).sort()).toEqual(declared.map((m) => m.name).sort());
    for (const metric of declared) {
      // The label names, not the values listed in parentheses after them.
      let cell = rows.find((r) => r.name === metric.name)!.labels;
      while (/\([^()]*\)/.test(cell)) cell = cell.replace(/\([^()]*\)/g, '');
      const documented = [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
      expect({ metric: metric.name, labels: documented.sort() }).toEqual({ metric: metric.name, labels: [...(metric.labelNames ?? [])].sort() });
    }
  });
});
