// Writes infra/k8s/components/prometheus-rules/prometheus-rule.yaml: the groups of
// infra/prometheus/anime-alerts.yaml in a PrometheusRule (prometheus-operator), so the two never
// differ (test/infra/prometheus-alerts.test.ts checks it). Usage: node scripts/prometheus-rule.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

if (process.argv.length > 2) {
  console.error('usage: node scripts/prometheus-rule.mjs   (no arguments: rewrites the PrometheusRule from the rule file)');
  process.exit(process.argv.includes('--help') ? 0 : 2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { groups } = parse(readFileSync(path.join(root, 'infra/prometheus/anime-alerts.yaml'), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'anime-alerts', labels: { 'app.kubernetes.io/part-of': 'anime-production-system', role: 'alert-rules' } },
  spec: { groups },
};
const header = '# Written by `node scripts/prometheus-rule.mjs` from infra/prometheus/anime-alerts.yaml: edit that file, then run it.\n';
const target = path.join(root, 'infra/k8s/components/prometheus-rules/prometheus-rule.yaml');
writeFileSync(target, header + stringify(rule, { lineWidth: 0 }));
console.log(`wrote ${path.relative(root, target)}: ${groups.reduce((n, g) => n + g.rules.length, 0)} rules in ${groups.length} groups`);
