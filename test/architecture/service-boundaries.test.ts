import path from 'node:path';
import { dependencyViolations, findBoundaryViolations, importViolations, listPackages } from './service-boundaries';

const ROOT = path.resolve(__dirname, '..', '..');
const gateway = { dir: 'services/gateway', name: '@anime/gateway' };
const character = { dir: 'services/character', name: '@anime/character' };
const services = [gateway, character];

describe('service boundaries', () => {
  it('when the repository is read, then no service imports or depends on another, and no shared package on any service', () => {
    const found = listPackages(ROOT, 'services').map((s) => s.name);
    // Guards the check itself: reading no services would make the next assertion pass vacuously.
    expect(found).toEqual(expect.arrayContaining(['@anime/gateway', '@anime/character', '@anime/orchestrator', '@anime/file-organizer']));
    expect(findBoundaryViolations(ROOT).map((v) => `${v.file}:${v.line} ${v.message}`)).toEqual([]);
  });

  it("when a service imports another service's package, by name or subpath, statically or not, then each is reported", () => {
    const source = [
      "import { seedDemo } from '@anime/character';",
      "export * from '@anime/character/src/legacy/seed-demo';",
      "const lazy = await import('@anime/character');",
      "jest.mock('@anime/character');",
    ].join('\n');
    expect(importViolations('services/gateway/src/a.ts', source, gateway, services).map((v) => v.line)).toEqual([1, 2, 3, 4]);
  });

  it("when a service reaches into another service's folder by a relative path, then it is reported", () => {
    const source = "import { writeCharacter } from '../../../character/src/legacy/write-character';";
    expect(importViolations('services/gateway/src/domain/a.ts', source, gateway, services)).toEqual([
      {
        file: 'services/gateway/src/domain/a.ts',
        line: 1,
        message: 'services/gateway imports "../../../character/src/legacy/write-character", which belongs to services/character',
      },
    ]);
  });

  it('when a shared package imports any service, then it is reported', () => {
    expect(importViolations('packages/characters/src/a.ts', "import { x } from '@anime/gateway';", null, services)).toHaveLength(1);
  });

  it('when a file imports its own service, shared packages or a similar-looking name, then nothing is reported', () => {
    const source = [
      "import { characterRoutes } from '../http/routes/characters';",
      "import { resolveGeneration } from '@anime/characters';",
      "import { createGateway } from '@anime/gateway/src/app';",
      "import path from 'node:path';",
    ].join('\n');
    expect(importViolations('services/gateway/src/domain/a.ts', source, gateway, services)).toEqual([]);
  });

  it("when a service's package.json lists another service's package in any dependency field, then it is reported", () => {
    const manifest = { dependencies: { '@anime/characters': 'workspace:*' }, devDependencies: { '@anime/character': 'workspace:*' } };
    expect(dependencyViolations('services/gateway/package.json', manifest, gateway, services).map((v) => v.message)).toEqual([
      'services/gateway lists @anime/character in devDependencies',
    ]);
    expect(dependencyViolations('services/character/package.json', manifest, character, services)).toEqual([]);
  });
});
