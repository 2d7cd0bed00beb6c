import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A workspace package under `services/` or `packages/`: its folder (`services/gateway`) and its name (`@anime/gateway`). */
export interface WorkspacePackage {
  dir: string;
  name: string;
}

export interface BoundaryViolation {
  /** Repository-relative, with forward slashes. */
  file: string;
  line: number;
  message: string;
}

const CODE_FILE = /\.(c|m)?(t|j)sx?$/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;
// The places a module specifier can stand: static and dynamic import, re-export, require, jest.mock.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bjest\.mock\(\s*)(['"])([^'"\n]+)\1/g;

/** The workspace packages in `<root>/<group>/*` that have a package.json. */
export function listPackages(root: string, group: 'services' | 'packages'): WorkspacePackage[] {
  return readdirSync(path.join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const dir = `${group}/${entry.name}`;
      try {
        return [{ dir, name: (JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as { name: string }).name }];
      } catch {
        return [];
      }
    });
}

/**
 * The imports in one file that reach into a service other than `owner`'s own (owner is null for
 * a shared package, which may reach into none): by package name, or by a relative path landing
 * in another service's folder.
 */
export function importViolations(file: string, source: string, owner: WorkspacePackage | null, services: WorkspacePackage[]): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  const foreign = services.filter((s) => s.dir !== owner?.dir);
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[2];
    const line = source.slice(0, match.index).split('\n').length;
    const byName = foreign.find((s) => specifier === s.name || specifier.startsWith(`${s.name}/`));
    const target = specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : null;
    const byPath = target === null ? undefined : foreign.find((s) => target === s.dir || target.startsWith(`${s.dir}/`));
    const reached = byName ?? byPath;
    if (reached) violations.push({ file, line, message: `${owner?.dir ?? 'a shared package'} imports "${specifier}", which belongs to ${reached.dir}` });
  }
  return violations;
}

/** A package.json that depends on another service's package. */
export function dependencyViolations(file: string, manifest: Partial<Record<(typeof DEPENDENCY_FIELDS)[number], Record<string, string>>>, owner: WorkspacePackage | null, services: WorkspacePackage[]): BoundaryViolation[] {
  const foreign = new Set(services.filter((s) => s.dir !== owner?.dir).map((s) => s.name));
  return DEPENDENCY_FIELDS.flatMap((field) =>
    Object.keys(manifest[field] ?? {})
      .filter((name) => foreign.has(name))
      .map((name) => ({ file, line: 1, message: `${owner?.dir ?? 'a shared package'} lists ${name} in ${field}` })),
  );
}

/**
 * Every way a service reaches into another one, and a shared package into any service, across
 * `services/*` and `packages/*` (their code files and package.json). Root tests and scripts
 * are not services and may use a service's exports, e.g. the character service's seedDemo.
 */
export function findBoundaryViolations(root: string): BoundaryViolation[] {
  const services = listPackages(root, 'services');
  const owners = [...services, ...listPackages(root, 'packages')];
  return owners.flatMap((pkg) => {
    const owner = services.includes(pkg) ? pkg : null;
    const manifestFile = `${pkg.dir}/package.json`;
    const manifest = JSON.parse(readFileSync(path.join(root, manifestFile), 'utf8'));
    return [
      ...dependencyViolations(manifestFile, manifest, owner, services),
      ...codeFiles(root, pkg.dir).flatMap((file) => importViolations(file, readFileSync(path.join(root, file), 'utf8'), owner, services)),
    ];
  });
}

function codeFiles(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'generated' ? [] : codeFiles(root, relative);
    return entry.isFile() && CODE_FILE.test(entry.name) ? [relative] : [];
  });
}
