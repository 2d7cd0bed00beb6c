import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { promtoolCheck } from '../e2e/promtool';

// infra/prometheus/anime-alerts.yaml: valid rules (promtool check rules), each alert proven by
// promtool's unit tests (anime-alerts.test.yaml) to fire on its fault and to stay quiet without it,
// described for the operator, and shipped unchanged in the prometheus-operator component.
// (test/infra/metric-references.test.ts checks that each expression queries only exported series.)

const ROOT = path.resolve(__dirname, '..', '..');
const RULES = path.join(ROOT, 'infra/prometheus/anime-alerts.yaml');
const UNIT_TESTS = path.join(ROOT, 'infra/prometheus/anime-alerts.test.yaml');
const COMPONENT = path.join(ROOT, 'infra/k8s/components/prometheus-rules');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertCase {
  alertname: string;
  eval_time: string;
  exp_alerts: unknown[];
}

const groups = (parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
const alerts = groups.flatMap((g) => g.rules);
const unitTests = (parse(readFileSync(UNIT_TESTS, 'utf8')) as { rule_files: string[]; tests: { name: string; alert_rule_test: AlertCase[] }[] }).tests;
const cases = unitTests.flatMap((t) => t.alert_rule_test);

/** promtool's output and whether it succeeded. */
function promtool(args: string[]): { ok: boolean; output: string } {
  try {
    return { ok: true, output: execFileSync('promtool', args, { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('infra/prometheus/anime-alerts.yaml', () => {
  it('when promtool checks the rule file, then every rule is valid', async () => {
    await promtoolCheck(''); // fails with a message when promtool is missing
    const checked = promtool(['check', 'rules', RULES]);
    expect(checked).toEqual({ ok: true, output: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
    expect(alerts.length).toBeGreaterThanOrEqual(15);
  });

  it('when promtool runs its unit tests, then each alert fires on its fault and stays quiet where it must', async () => {
    await promtoolCheck('');
    const run = promtool(['test', 'rules', UNIT_TESTS]);
    expect(run).toEqual({ ok: true, output: expect.stringContaining('SUCCESS') });
  });

  it('when the unit tests are read, then every alert has a case where it fires and one where it stays quiet, and they test that rule file', () => {
    expect(unitTests.length).toBeGreaterThan(0);
    expect((parse(readFileSync(UNIT_TESTS, 'utf8')) as { rule_files: string[] }).rule_files.map((f) => path.resolve(path.dirname(UNIT_TESTS), f))).toEqual([RULES]);
    const coverage = alerts.map((a) => ({
      alert: a.alert,
      fires: cases.some((c) => c.alertname === a.alert && c.exp_alerts.length > 0),
      quiet: cases.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0),
    }));
    expect(coverage).toEqual(alerts.map((a) => ({ alert: a.alert, fires: true, quiet: true })));
    // No case names an alert the rule file does not have (promtool would pass it, expecting none).
    expect(cases.map((c) => c.alertname).filter((name) => !alerts.some((a) => a.alert === name))).toEqual([]);
  });

  it('when each alert is read, then it waits a while before firing, has a severity, tells what to do, and the README runbook names it', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('### Alerts (Prometheus)');
    expect(at).toBeGreaterThan(0);
    const runbook = readme.slice(at, readme.indexOf('\n### ', at + 1));
    for (const a of alerts) {
      expect({ alert: a.alert, for: a.for ?? null }).toEqual({ alert: a.alert, for: expect.stringMatching(/^\d+[mh]$/) });
      expect({ alert: a.alert, severity: a.labels?.severity }).toEqual({ alert: a.alert, severity: expect.stringMatching(/^(critical|warning)$/) });
      // A one-line summary, and a description that says what to check or do (a few sentences).
      expect({ alert: a.alert, summary: (a.annotations?.summary?.length ?? 0) > 20, description: (a.annotations?.description?.length ?? 0) > 150 }).toEqual({ alert: a.alert, summary: true, description: true });
      expect({ alert: a.alert, inRunbook: runbook.includes(`\`${a.alert}\``) }).toEqual({ alert: a.alert, inRunbook: true });
    }
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  });

  it('when the prometheus-rules component is built into the production overlay, then it adds one PrometheusRule holding exactly the rule file\'s groups', () => {
    const built = parseAllDocuments(readFileSync(path.join(COMPONENT, 'prometheus-rule.yaml'), 'utf8')).map((d) => d.toJS());
    expect(built).toHaveLength(1);
    expect(built[0]).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'anime-alerts' } });
    // Differs: run `node scripts/prometheus-rule.mjs` after editing the rule file.
    expect(built[0].spec).toEqual({ groups });

    // As an overlay that lists the component would build it (kustomize takes relative paths only).
    const dir = mkdtempSync(path.join(tmpdir(), 'prometheus-rules-'));
    try {
      const rel = (p: string) => path.relative(dir, p);
      writeFileSync(
        path.join(dir, 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${rel(path.join(ROOT, 'infra/k8s/overlays/production'))}\ncomponents:\n  - ${rel(COMPONENT)}\n`,
      );
      const docs = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS() as { kind: string; spec: unknown });
      const rules = docs.filter((d) => d.kind === 'PrometheusRule');
      expect(rules).toHaveLength(1);
      expect(rules[0].spec).toEqual({ groups });
      // The overlay's own resources are all still there.
      expect(docs.filter((d) => d.kind === 'ScaledObject')).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
