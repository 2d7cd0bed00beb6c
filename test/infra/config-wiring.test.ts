import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ALL_VARIABLES, requiredVariables, SERVICE_SCHEMAS, type ServiceName } from './service-env';

// What compose and the Kubernetes manifests set against what the services read (packages/config):
// a variable renamed in a schema must not leave the old name set, silently ignored, in a deployment,
// and a variable a service cannot start without must reach it.

const ROOT = path.resolve(__dirname, '..', '..');
const SERVICES = Object.keys(SERVICE_SCHEMAS) as ServiceName[];

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, unknown> }> };

interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: any;
}

describe('the variables deployments set, against the ones the services read', () => {
  it('when compose sets a variable on a service, then some service reads it, and each service gets every variable it cannot start without', () => {
    for (const name of SERVICES) {
      const set = Object.keys(compose.services[name].environment ?? {});
      expect({ name, unread: set.filter((v) => !ALL_VARIABLES.has(v)) }).toEqual({ name, unread: [] });
      expect({ name, missing: requiredVariables(name).filter((v) => !set.includes(v)) }).toEqual({ name, missing: [] });
    }
  });

  it.each(['production', 'dev'])('when the %s overlay is built, then every ConfigMap and Secret key is a variable a service reads, and each Deployment gets every variable its service cannot start without', (overlay) => {
    const built = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8' });
    const resources = parseAllDocuments(built).map((d) => d.toJS() as Resource).filter(Boolean);
    const sources = new Map(resources.filter((r) => r.kind === 'ConfigMap' || r.kind === 'Secret').map((r) => [`${r.kind}/${r.metadata.name}`, Object.keys({ ...r.data, ...r.stringData })]));
    for (const [source, keys] of sources) expect({ source, unread: keys.filter((k) => !ALL_VARIABLES.has(k)) }).toEqual({ source, unread: [] });
    for (const d of resources.filter((r) => r.kind === 'Deployment')) {
      const name = d.metadata.name as ServiceName;
      const container = d.spec.template.spec.containers[0];
      const given = [
        ...(container.env ?? []).map((e: { name: string }) => e.name),
        ...(container.envFrom ?? []).flatMap((e: { configMapRef?: { name: string }; secretRef?: { name: string } }) =>
          e.configMapRef ? (sources.get(`ConfigMap/${e.configMapRef.name}`) ?? []) : (sources.get(`Secret/${e.secretRef!.name}`) ?? []),
        ),
      ];
      expect({ name, missing: requiredVariables(name).filter((v) => !given.includes(v)) }).toEqual({ name, missing: [] });
    }
  });
});
