import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { animeRegistry } from '@anime/pipeline';
import { promtoolCheck } from '../e2e/promtool';

const ROOT = path.resolve(__dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'infra/grafana/anime-dashboard.json'), 'utf8'));
const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
const panelCharting = (metric: string) => dashboard.panels.find((p: { targets?: { expr: string }[] }) => p.targets?.some((t) => t.expr.includes(metric))) as { title: string; targets: { expr: string; legendFormat: string }[] };

/**
 * Four processes scraped as the README's scrape configuration does: the gateway in job
 * anime-gateway, the three workers together in job anime-workers. Each process's series as its
 * /metrics serves them: the anime_* ones without a service label, prom-client's labelled `service`.
 */
const SCRAPED = [
  { job: 'anime-gateway', instance: 'gateway:8080', service: 'gateway' },
  { job: 'anime-workers', instance: 'character:8081', service: 'character' },
  { job: 'anime-workers', instance: 'orchestrator:8082', service: 'orchestrator' },
  { job: 'anime-workers', instance: 'file-organizer:8083', service: 'file-organizer' },
];

/** Evaluates `expr` with promtool over the given series (one-minute samples) and returns its output series at 10m. */
function evaluate(expr: string, series: { labels: string; values: string }[]): { labels: Record<string, string>; value: number }[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'grafana-eval-'));
  try {
    writeFileSync(path.join(dir, 'rules.yml'), `groups:\n  - name: panel\n    rules:\n      - record: panel\n        expr: ${JSON.stringify(expr.replace(/\$__rate_interval/g, '5m'))}\n`);
    const input = series.map((s) => `      - series: ${JSON.stringify(s.labels)}\n        values: ${JSON.stringify(s.values)}`).join('\n');
    // Expecting no samples: promtool's failure then lists, on stderr, the samples the expression gave.
    writeFileSync(path.join(dir, 'test.yml'), `rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${input}\n    promql_expr_test:\n      - expr: panel\n        eval_time: 10m\n        exp_samples: []\n`);
    let report = '';
    try {
      execFileSync('promtool', ['test', 'rules', path.join(dir, 'test.yml')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      report = String((error as { stderr?: string }).stderr ?? '');
    }
    const got = /got: (.*)/.exec(report)?.[1] ?? '';
    return [...got.matchAll(/\{([^}]*)\} ([-+.\dE]+)/g)].map((m) => ({
      labels: Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].filter((l) => l[1] !== '__name__').map((l) => [l[1], l[2]])),
      value: Number(m[2]),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const versionInfo = (p: (typeof SCRAPED)[number]) => ({ labels: `nodejs_version_info{job="${p.job}",instance="${p.instance}",service="${p.service}",version="v20.20.2",major="20",minor="20",patch="2"}`, values: '1x10' });

describe('infra/grafana/anime-dashboard.json', () => {
  it('when its queries are read, then each is valid PromQL (promtool check rules) over anime_* metrics the services declare, and every declared metric is charted', async () => {
    await promtoolCheck(''); // fails with a message when promtool is missing
    const dir = mkdtempSync(path.join(tmpdir(), 'grafana-'));
    try {
      // Grafana's $__rate_interval becomes a plain range so promtool can parse each query.
      const rules = exprs.map((expr, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr.replace(/\$__rate_interval/g, '5m'))}`).join('\n');
      writeFileSync(path.join(dir, 'rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      execFileSync('promtool', ['check', 'rules', path.join(dir, 'rules.yml')], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const declared = new Set(animeRegistry.getMetricsAsArray().map((m) => m.name));
    const used = new Set(exprs.flatMap((e) => e.match(/anime_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
    for (const name of used) expect(declared).toContain(name);
    for (const name of declared) expect(used).toContain(name);
    expect(exprs.length).toBeGreaterThanOrEqual(10);
  });

  it("when scraped as the README's scrape configuration does (three workers in one job), then the per-service panels still show one line per service, named by its service", async () => {
    await promtoolCheck('');
    const statements = panelCharting('anime_db_statements_total');
    // Statements per second: gateway 1, character 2, orchestrator 3, file-organizer 4; one filing completed per second.
    const got = evaluate(statements.targets[0].expr, [
      ...SCRAPED.map((p, i) => ({ labels: `anime_db_statements_total{job="${p.job}",instance="${p.instance}"}`, values: `0+${60 * (i + 1)}x10` })),
      ...SCRAPED.map(versionInfo),
      { labels: 'anime_job_duration_seconds_count{job="anime-workers",instance="file-organizer:8083",queue="asset-filing",stage="fileOutputs",outcome="completed"}', values: '0+60x10' },
    ]);
    expect(got).toEqual(expect.arrayContaining(SCRAPED.map((p, i) => ({ labels: { service: p.service }, value: i + 1 }))));
    expect(got).toHaveLength(SCRAPED.length);
    expect(statements.targets[0].legendFormat).toBe('{{service}}');

    const heap = panelCharting('anime_heap_after_major_gc_bytes');
    const heaps = evaluate(heap.targets[0].expr, [
      ...SCRAPED.map((p, i) => ({ labels: `anime_heap_after_major_gc_bytes{job="${p.job}",instance="${p.instance}"}`, values: `${(i + 1) * 1000}x10` })),
      ...SCRAPED.map(versionInfo),
    ]);
    expect(heaps).toEqual(expect.arrayContaining(SCRAPED.map((p, i) => ({ labels: { instance: p.instance, service: p.service }, value: (i + 1) * 1000 }))));
    expect(heaps).toHaveLength(SCRAPED.length);
    expect(heap.targets[0].legendFormat).toContain('{{service}}');
  });
});
