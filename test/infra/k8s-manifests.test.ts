import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

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

  it('when built, then it has a Deployment and a Service per service, each running the one image with its program, and a migration Job', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...SERVICES].sort());
    expect(ofKind(resources, 'Service').map((s) => s.metadata.name).sort()).toEqual([...SERVICES].sort());
    for (const d of deployments) {
      const [container] = d.spec.template.spec.containers;
      expect(container.command).toEqual(['node', `services/${d.metadata.name}/dist/main.js`]);
    }
    const [job] = ofKind(resources, 'Job');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'packages/db/dist/migrate.js']);
    const images = new Set(podSpecs.flatMap((p) => p.spec.containers.map((c: { image: string }) => c.image)));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/(^|\/)anime-production-system:[\w.-]+$/);
    // Every resource in the overlay's namespace.
    const namespace = ofKind(resources, 'Namespace')[0].metadata.name;
    expect(resources.filter((r) => r.kind !== 'Namespace' && r.metadata.namespace !== namespace).map((r) => r.kind)).toEqual([]);
  });

  it('when built, then every pod has liveness on /healthz and readiness on /readyz of its port, resources, a non-root read-only security context and no service-link variables', () => {
    for (const d of deployments) {
      const [c] = d.spec.template.spec.containers;
      const portName = c.ports[0].name;
      expect([d.metadata.name, c.livenessProbe.httpGet]).toEqual([d.metadata.name, { path: '/healthz', port: portName }]);
      expect([d.metadata.name, c.readinessProbe.httpGet]).toEqual([d.metadata.name, { path: '/readyz', port: portName }]);
    }
    for (const { name, spec } of podSpecs) {
      expect([name, spec.securityContext.runAsNonRoot]).toEqual([name, true]);
      // Service links would set CHARACTER_PORT=tcp://… and the like, the names of the services' own port variables.
      expect([name, spec.enableServiceLinks]).toEqual([name, false]);
      for (const c of spec.containers) {
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
      const target = deployments.find((d) => d.metadata.name === pdb.spec.selector.matchLabels['app.kubernetes.io/name'])!;
      expect(target.spec.template.metadata.labels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
    }
  });

  it('when built, then every ScaledObject targets an existing Deployment and scales on anime_queue_jobs of its queue (waiting|prioritized), a query without series being an error (its fallback) not an empty queue, and every resource validates against the API schemas', () => {
    const scaled = ofKind(resources, 'ScaledObject');
    if (overlay === 'production') expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(['file-organizer', 'orchestrator']);
    const queueOf: Record<string, string> = { orchestrator: 'generation-renders', 'file-organizer': 'asset-filing' };
    for (const s of scaled) {
      const target = s.spec.scaleTargetRef.name;
      expect(deployments.map((d) => d.metadata.name)).toContain(target);
      // KEDA owns their replica count: a Deployment that set one would be reset by every apply.
      expect(deployments.find((d) => d.metadata.name === target)!.spec.replicas).toBeUndefined();
      expect(s.spec.triggers).toEqual([
        expect.objectContaining({
          type: 'prometheus',
          // KEDA's default (true) reads no series (nothing scraped) as 0 and keeps minReplicaCount whatever the backlog.
          metadata: expect.objectContaining({ query: expect.stringContaining(`anime_queue_jobs{queue="${queueOf[target]}",state=~"waiting|prioritized"}`), ignoreNullValues: 'false' }),
        }),
      ]);
      expect(s.spec.fallback.replicas).toBeGreaterThan(s.spec.minReplicaCount);
    }
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts/validate-k8s.mjs'), path.join(ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8' });
    expect(out).toContain(`${resources.length} of ${resources.length} resources valid`);
  });
});
