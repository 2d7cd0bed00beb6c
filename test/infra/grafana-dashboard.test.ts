import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { animeRegistry } from '@anime/pipeline';
import { promtoolCheck } from '../e2e/promtool';

const ROOT = path.resolve(__dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'infra/grafana/anime-dashboard.json'), 'utf8'));
const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));

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
});
