import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './service-process';

const compose = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const envExample = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');

/** The block of one top-level service: its lines up to the next service. */
function serviceBlock(name: string): string {
  const match = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(compose);
  if (!match) throw new Error(`no service ${name} in docker-compose.yml`);
  return match[1];
}

describe('what docker-compose.yml exposes', () => {
  it('when compose publishes ports, then only the gateway, on 127.0.0.1 unless GATEWAY_BIND says otherwise', () => {
    const published = [...compose.matchAll(/^\s+ports:\n((?:\s+- .*\n)+)/gm)].map((m) => m[1].trim());
    expect(published).toEqual(['- "${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8080}:8080"']);
    expect(serviceBlock('gateway')).toContain('ports:');
    for (const name of ['comfyui-simulator', 'postgres', 'redis', 'character', 'orchestrator', 'file-organizer']) expect(serviceBlock(name)).not.toMatch(/ports:/);
  });

  it('when the services reach Redis, then with a password that compose requires and Redis enforces', () => {
    expect(compose).toMatch(/REDIS_URL: redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379\/0/);
    expect(serviceBlock('redis')).toMatch(/--requirepass/);
    expect(serviceBlock('redis')).toMatch(/REDISCLI_AUTH: \$\{REDIS_PASSWORD:\?/);
  });

  it('when compose sets passwords, then none is written in the file and .env.example names every variable it reads', () => {
    expect(compose).not.toMatch(/PASSWORD: (?!\$\{)/);
    expect(compose).not.toMatch(/:\/\/[^:$\s]*:(?!\$\{)[^@\s]+@/);
    const variables = new Set([...compose.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]));
    for (const variable of variables) expect(envExample).toMatch(new RegExp(`^${variable}=`, 'm'));
  });

  it('when the services run in containers, then their ops endpoints listen on every interface for probes', () => {
    expect(compose).toMatch(/environment: &service-env\n(?:\s+.*\n)*?\s+OPS_HOST: 0\.0\.0\.0\n/);
  });
});
