import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PIPELINE_CATALOG, QUEUE_KEYS } from '@anime/contracts';
import { SHUTDOWN_DEADLINE_MS } from '@anime/pipeline';
import { PROGRAMS } from '@anime/stack';
import { SERVICE_SCHEMAS } from './service-env';

const ROOT = path.resolve(__dirname, '..', '..');
const OVERLAYS = ['production', 'dev'];
const SERVICES = ['gateway', 'character', 'orchestrator', 'file-organizer'];

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function build(overlay: string): Resource[] {
  const out = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Resource).filter(Boolean);
}

const ofKind = (resources: Resource[], kind: string) => resources.filter((r) => r.kind === kind);

describe.each(OVERLAYS)('infra/k8s overlay %s', (overlay) => {
  const resources = build(overlay);
  const deployments = ofKind(resources, 'Deployment');
  const podSpecs = [...deployments, ...ofKind(resources, 'Job')].map((r) => ({ name: r.metadata.name, spec: r.spec.template.spec }));
  const allContainers = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];

  it('when built, then it has a Deployment and a Service per service, each running the one image with its program after the migrations, in an init container', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...SERVICES].sort());
    expect(ofKind(resources, 'Service').map((s) => s.metadata.name).sort()).toEqual([...SERVICES].sort());
    for (const d of deployments) {
      const [container] = d.spec.template.spec.containers;
      expect(container.command).toEqual(['node', `services/${d.metadata.name}/dist/main.js`]);
    }
    // No pod starts its service on a schema older than its image (its /readyz asks only whether
    // PostgreSQL answers): each runs `pnpm db:migrate`'s program first, with the database's secret.
    // No one-shot Job: it would race the Deployments, and its template cannot change on the next image.
    expect(ofKind(resources, 'Job')).toEqual([]);
    for (const d of deployments) {
      const initContainers = d.spec.template.spec.initContainers ?? [];
      expect([d.metadata.name, initContainers.map((c: any) => c.command)]).toEqual([d.metadata.name, [['node', PROGRAMS['db:migrate'].compiled]]]);
      expect([d.metadata.name, initContainers[0].envFrom]).toEqual([d.metadata.name, [{ secretRef: { name: 'anime-secrets' } }]]);
    }
    const images = new Set(podSpecs.flatMap((p) => allContainers(p.spec).map((c: { image: string }) => c.image)));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/(^|\/)anime-production-system:[\w.-]+$/);
    // Every resource in the overlay's namespace.
    const namespace = ofKind(resources, 'Namespace')[0].metadata.name;
    expect(resources.filter((r) => r.kind !== 'Namespace' && r.metadata.namespace !== namespace).map((r) => r.kind)).toEqual([]);
  });

  it('when built, then every pod has liveness on /healthz of its port, readiness on /readyz (the gateway: until started, then /healthz), resources, a non-root read-only security context and no service-link variables', () => {
    for (const d of deployments) {
      const [c] = d.spec.template.spec.containers;
      const portName = c.ports[0].name;
      expect([d.metadata.name, c.livenessProbe.httpGet]).toEqual([d.metadata.name, { path: '/healthz', port: portName }]);
      if (d.metadata.name === 'gateway') {
        // Every gateway shares PostgreSQL and Redis: a readiness following them would empty the
        // Service in an outage the gateway answers itself (503 with Retry-After; Redis away: accepts anyway).
        expect(c.startupProbe.httpGet).toEqual({ path: '/readyz', port: portName });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: portName });
      } else {
        expect([d.metadata.name, c.readinessProbe.httpGet]).toEqual([d.metadata.name, { path: '/readyz', port: portName }]);
      }
    }
    for (const { name, spec } of podSpecs) {
      expect([name, spec.securityContext.runAsNonRoot]).toEqual([name, true]);
      // Service links would set CHARACTER_PORT=tcp://… and the like, the names of the services' own port variables.
      expect([name, spec.enableServiceLinks]).toEqual([name, false]);
      for (const c of allContainers(spec)) {
        expect([name, c.resources.requests.cpu, c.resources.requests.memory, c.resources.limits.memory].every(Boolean)).toBe(true);
        expect([name, c.securityContext]).toEqual([name, expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })]);
      }
    }
  });

  it('when built, then the workers ops listeners are reachable in pods (OPS_HOST=0.0.0.0), each port variable matches its container port, and the secret holds placeholders only', () => {
    const [config] = ofKind(resources, 'ConfigMap');
    expect(config.data!.OPS_HOST).toBe('0.0.0.0');
    const portVariable: Record<string, string> = { gateway: 'PORT', character: 'CHARACTER_PORT', orchestrator: 'ORCHESTRATOR_PORT', 'file-organizer': 'FILE_ORGANIZER_PORT' };
    for (const d of deployments) {
      expect([d.metadata.name, String(d.spec.template.spec.containers[0].ports[0].containerPort)]).toEqual([d.metadata.name, config.data![portVariable[d.metadata.name]]]);
    }
    const [secret] = ofKind(resources, 'Secret');
    expect(Object.keys(secret.stringData!).sort()).toEqual(['DATABASE_URL', 'REDIS_URL']);
    for (const value of Object.values(secret.stringData!)) expect(value).toContain('CHANGE_ME');
    expect(secret.stringData!.REDIS_URL).toMatch(/^redis:\/\/:[^@]+@/);
  });

  it('when built, then the library is one ReadWriteMany claim mounted at LIBRARY_DIR, and each service has a PodDisruptionBudget', () => {
    const [pvc] = ofKind(resources, 'PersistentVolumeClaim');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    const libraryDir = ofKind(resources, 'ConfigMap')[0].data!.LIBRARY_DIR;
    for (const name of ['gateway', 'orchestrator', 'file-organizer']) {
      const spec = deployments.find((d) => d.metadata.name === name)!.spec.template.spec;
      const volume = spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === pvc.metadata.name);
      expect([name, spec.containers[0].volumeMounts.find((m: any) => m.name === volume.name).mountPath]).toEqual([name, libraryDir]);
    }
    const pdbs = ofKind(resources, 'PodDisruptionBudget');
    expect(pdbs.map((p) => p.spec.selector.matchLabels['app.kubernetes.io/name']).sort()).toEqual([...SERVICES].sort());
    for (const pdb of pdbs) {
      // Worker pods are unready while Redis or PostgreSQL is away: the default policy would then block node drains.
      expect([pdb.metadata.name, pdb.spec.unhealthyPodEvictionPolicy]).toEqual([pdb.metadata.name, 'AlwaysAllow']);
      const target = deployments.find((d) => d.metadata.name === pdb.spec.selector.matchLabels['app.kubernetes.io/name'])!;
      expect(target.spec.template.metadata.labels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
    }
  });

  it('when built, then every ScaledObject targets an existing Deployment and scales on anime_queue_jobs of its queue (waiting|prioritized), a query without series being an error (its fallback) not an empty queue, and every resource validates against the API schemas', () => {
    const scaled = ofKind(resources, 'ScaledObject');
    if (overlay === 'production') expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(['file-organizer', 'orchestrator']);
    // The queue each Deployment's service consumes, from the pipeline's catalog.
    const queueOf = (service: string) => QUEUE_KEYS.filter((k) => PIPELINE_CATALOG[k].consumer === service).map((k) => PIPELINE_CATALOG[k].name);
    for (const s of scaled) {
      const target = s.spec.scaleTargetRef.name;
      expect(deployments.map((d) => d.metadata.name)).toContain(target);
      // KEDA owns their replica count: a Deployment that set one would be reset by every apply.
      expect(deployments.find((d) => d.metadata.name === target)!.spec.replicas).toBeUndefined();
      expect(queueOf(target)).toHaveLength(1);
      expect(s.spec.triggers).toEqual([
        expect.objectContaining({
          type: 'prometheus',
          // KEDA's default (true) reads no series (nothing scraped) as 0 and keeps minReplicaCount whatever the backlog.
          metadata: expect.objectContaining({ query: expect.stringContaining(`anime_queue_jobs{queue="${queueOf(target)[0]}",state=~"waiting|prioritized"}`), ignoreNullValues: 'false' }),
        }),
      ]);
      expect(s.spec.fallback.replicas).toBeGreaterThan(s.spec.minReplicaCount);
    }
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts/validate-k8s.mjs'), path.join(ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8' });
    expect(out).toContain(`${resources.length} of ${resources.length} resources valid`);
  });

  it('when a pod is stopped, then it is given more than its service needs to stop (preStop, then SHUTDOWN_DEADLINE_MS), and the gateway keeps serving while it leaves the Service', () => {
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      const preStop: string[] = spec.containers[0].lifecycle?.preStop?.exec?.command ?? [];
      const sleep = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      // Kubernetes counts the preStop hook inside terminationGracePeriodSeconds (default 30).
      const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      expect([d.metadata.name, graceMs > sleep * 1000 + SHUTDOWN_DEADLINE_MS]).toEqual([d.metadata.name, true]);
      // The gateway closes its listener at SIGTERM; the endpoints' removal reaches the proxies a moment later.
      if (d.metadata.name === 'gateway') expect(sleep).toBeGreaterThanOrEqual(3);
    }
  });

  it("when the gateway's memory limit is read, then it holds its idle footprint and one reference image decoded whole at REFERENCE_MAX_PIXELS, 8 bytes a pixel", () => {
    const mebibytes = (quantity: string) => {
      const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
      if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
      return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
    };
    const config = ofKind(resources, 'ConfigMap')[0].data!;
    const { REFERENCE_MAX_PIXELS } = SERVICE_SCHEMAS.gateway.parse({ DATABASE_URL: 'postgresql://u@h/d', LIBRARY_DIR: '/library', ...config }) as { REFERENCE_MAX_PIXELS: number };
    const gateway = deployments.find((d) => d.metadata.name === 'gateway')!.spec.template.spec.containers[0];
    // 256 MiB: a gateway idle (about 190 MB measured) and its other requests.
    expect(mebibytes(gateway.resources.limits.memory)).toBeGreaterThanOrEqual(256 + (8 * REFERENCE_MAX_PIXELS) / 2 ** 20);
  });
});
