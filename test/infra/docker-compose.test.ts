import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SHUTDOWN_DEADLINE_MS } from '@anime/pipeline';

// docker-compose.yml as compose reads it (YAML merge keys resolved): what makes
// `docker compose up --scale orchestrator=2` work, and what every service must declare.
// (`docker-compose config` in scripts/test.sh checks that compose itself accepts the file.)

const ROOT = path.resolve(__dirname, '..', '..');
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, any>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const SCALED = ['character', 'orchestrator', 'file-organizer'];
const APP = ['gateway', ...SCALED];
const ONE_SHOT = ['migrate'];

describe('docker-compose.yml', () => {
  it('when read, then it holds PostgreSQL, Redis, the migration, the four services and the simulator', () => {
    expect(Object.keys(services).sort()).toEqual(['character', 'comfyui-simulator', 'file-organizer', 'gateway', 'migrate', 'orchestrator', 'postgres', 'redis']);
  });

  it('when a worker service is scaled, then nothing pins it to one instance: no container_name, no host port', () => {
    for (const name of SCALED) {
      expect({ name, containerName: services[name].container_name, ports: services[name].ports }).toEqual({ name, containerName: undefined, ports: undefined });
    }
    // No service at all names its container: a name is one container, whatever the scale.
    expect(Object.entries(services).filter(([, s]) => s.container_name).map(([n]) => n)).toEqual([]);
  });

  it('when the services run, then they share one library volume, declared once, and the data stores keep theirs', () => {
    const libraryMounts = (name: string) => (services[name].volumes ?? []).filter((v: string) => v.endsWith(':/library'));
    for (const name of APP) expect({ name, mounts: libraryMounts(name) }).toEqual({ name, mounts: ['library:/library'] });
    for (const name of APP) expect(services[name].environment.LIBRARY_DIR).toBe('/library');
    expect(compose.volumes).toHaveProperty('library');
    expect(services.postgres.volumes).toEqual(['pgdata:/var/lib/postgresql/data']);
    expect(services.redis.volumes).toEqual(['redisdata:/data']);
  });

  it('when any long-running service is read, then it has a healthcheck and a restart policy; the migration runs once', () => {
    const missing = Object.entries(services)
      .filter(([name]) => !ONE_SHOT.includes(name))
      .filter(([, s]) => !Array.isArray(s.healthcheck?.test) || s.healthcheck.disable || !['always', 'unless-stopped', 'on-failure'].includes(s.restart))
      .map(([name]) => name);
    expect(missing).toEqual([]);
    expect(services.migrate.restart).toBe('no');
    for (const name of APP) expect(services[name].depends_on.migrate).toEqual({ condition: 'service_completed_successfully' });
  });

  it('when no profile is chosen, then the simulator does not run; COMFYUI_URLS chooses the backends and defaults to it', () => {
    expect(services['comfyui-simulator'].profiles).toEqual(['simulator']);
    for (const [name, service] of Object.entries(services)) if (name !== 'comfyui-simulator') expect({ name, profiles: service.profiles }).toEqual({ name, profiles: undefined });
    for (const name of APP) expect(services[name].environment.COMFYUI_URLS).toBe('${COMFYUI_URLS:-http://comfyui-simulator:8188}');
    // Nothing may wait on the simulator: with real GPU servers it is not there.
    for (const name of APP) expect(Object.keys(services[name].depends_on)).not.toContain('comfyui-simulator');
  });

  it("when the edge hardening is read, then it still holds: the gateway on 127.0.0.1 by default, passwords required, ops on every interface inside", () => {
    expect(services.gateway.ports).toEqual(['${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8080}:8080']);
    for (const name of ['postgres', 'redis', 'comfyui-simulator']) expect({ name, ports: services[name].ports }).toEqual({ name, ports: undefined });
    for (const name of APP) {
      expect(services[name].environment.DATABASE_URL).toContain('${POSTGRES_PASSWORD:?');
      expect(services[name].environment.REDIS_URL).toContain('${REDIS_PASSWORD:?');
      expect(services[name].environment.OPS_HOST).toBe('0.0.0.0');
    }
  });

  it("when a studio sets the orchestrator's job settings or WEBHOOK_ALLOW in .env, then they reach the services that read them", () => {
    for (const variable of ['DEFAULT_CHECKPOINT', 'BACKEND_PREFETCH', 'BACKEND_UNREACHABLE_GRACE_S', 'JOB_TIMEOUT_S', 'JOB_MAX_ATTEMPTS', 'IPADAPTER_WEIGHT', 'WEBHOOK_ALLOW']) {
      expect({ variable, value: services.orchestrator.environment[variable] }).toEqual({ variable, value: `\${${variable}:-}` });
    }
    for (const name of APP) expect({ name, value: services[name].environment.WEBHOOK_ALLOW }).toEqual({ name, value: '${WEBHOOK_ALLOW:-}' });
    for (const name of APP) expect({ name, value: services[name].environment.WEBHOOK_RETRY_DELAYS }).toEqual({ name, value: '${WEBHOOK_RETRY_DELAYS:-}' });
    // The gateway alone runs the webhook sweep that prunes.
    expect(services.gateway.environment.WEBHOOK_LOG_RETENTION_DAYS).toBe('${WEBHOOK_LOG_RETENTION_DAYS:-}');
  });

  it('when a studio sets DATABASE_QUERY_TIMEOUT_MS in .env, then every service that talks to PostgreSQL gets it', () => {
    for (const name of APP) expect({ name, value: services[name].environment.DATABASE_QUERY_TIMEOUT_MS }).toEqual({ name, value: '${DATABASE_QUERY_TIMEOUT_MS:-}' });
  });

  it("when compose stops a service, then it waits longer than the service's own shutdown deadline before SIGKILL (Docker's default is 10 s)", () => {
    const ms = (duration: string | undefined) => {
      const match = /^(\d+)(ms|s|m)$/.exec(duration ?? '');
      return match ? Number(match[1]) * { ms: 1, s: 1_000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'] : 10_000;
    };
    for (const name of APP) expect({ name, longer: ms(services[name].stop_grace_period) > SHUTDOWN_DEADLINE_MS }).toEqual({ name, longer: true });
  });
});
