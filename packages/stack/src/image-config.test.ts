import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROGRAMS } from './entries';
import { REPO_ROOT, RUNTIME_ENV } from './service-process';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compiled = new Set<string>(Object.values(PROGRAMS).map((p) => p.compiled));

describe('the image and the compose file run what pnpm build makes', () => {
  it('when the image is built, then its runtime stage sets the same Node settings as pnpm start', () => {
    const runtimeStage = read('infra/Dockerfile').split(/^FROM .* AS runtime$/m)[1];
    expect(runtimeStage).toContain(`MALLOC_ARENA_MAX=${RUNTIME_ENV.MALLOC_ARENA_MAX}`);
    expect(runtimeStage).toContain(`NODE_OPTIONS="${RUNTIME_ENV.NODE_OPTIONS}"`);
    expect(runtimeStage).toMatch(/^USER node$/m);
    expect(runtimeStage).toMatch(/^HEALTHCHECK /m);
    expect(runtimeStage).not.toMatch(/tsx/);
  });

  it('when compose starts a container, then its command is node and a compiled program', () => {
    const commands = [...read('docker-compose.yml').matchAll(/command: \["node", "([^"]+)"/g)].map((m) => m[1]);
    expect(commands.length).toBe(6);
    for (const program of commands) expect(compiled).toContain(program);
    const cmd = /^CMD \["node", "([^"]+)"\]/m.exec(read('infra/Dockerfile'))![1];
    expect(compiled).toContain(cmd);
  });

  it('when compose starts the services, then each waits for the one-shot migrate service to succeed', () => {
    const compose = read('docker-compose.yml');
    expect(compose).toMatch(/migrate:\n\s+condition: service_completed_successfully/);
    expect(compose).toMatch(/command: \["node", "packages\/db\/dist\/migrate.js"\]/);
    expect(compose).not.toMatch(/POSTGRES_PASSWORD: anime|anime:anime@/);
  });
});
