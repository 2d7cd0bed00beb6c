import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { findRepoRoot, PROGRAMS, type ProgramName } from '@anime/stack';

const HELP = `usage: pnpm build [--only NAME,...]

Compiles every program to one JavaScript file each (esbuild): the four services, the ComfyUI
simulator, the CLIs (db:migrate, db:seed, character:import-legacy, apikey:create/list/revoke) and the \`pnpm start\` supervisor.
The @anime/* workspace packages are bundled in (they ship TypeScript sources); third-party packages
stay external and are loaded from node_modules at run time, so each program's package.json must
declare them: the build checks it, and that each one resolves from where the program lies.
Types are not checked here (pnpm typecheck does).

Programs: ${Object.keys(PROGRAMS).join(', ')}`;

const ROOT = findRepoRoot(__dirname);
const BUILTINS = new Set(builtinModules);

/** Bare specifiers outside the workspace stay `require(...)` calls; @anime/* and relative paths are bundled. */
const thirdPartyExternal: Plugin = {
  name: 'third-party-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@anime/') ? undefined : { path: args.path, external: true }));
  },
};

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function owningPackageJson(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${file}`);
  }
}

/** Every third-party module the bundle loads must be a declared dependency of its package and resolve from there. */
function checkExternals(name: ProgramName, outfile: string, metafile: Metafile): string[] {
  const output = metafile.outputs[path.relative(ROOT, outfile)];
  const specifiers = [...new Set((output?.imports ?? []).filter((i) => i.external).map((i) => i.path))];
  const manifestPath = owningPackageJson(outfile);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies?: Record<string, string> };
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  const requireFrom = createRequire(outfile);
  const problems: string[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
    const pkg = packageName(specifier);
    if (!declared.has(pkg)) {
      problems.push(`${name}: loads ${specifier}, but ${pkg} is not in the dependencies of ${path.relative(ROOT, manifestPath)}`);
      continue;
    }
    try {
      requireFrom.resolve(specifier);
    } catch {
      problems.push(`${name}: ${specifier} does not resolve from ${path.relative(ROOT, path.dirname(outfile))} (pnpm install?)`);
    }
  }
  return problems;
}

async function buildProgram(name: ProgramName): Promise<string[]> {
  const { source, compiled } = PROGRAMS[name];
  const outfile = path.join(ROOT, compiled);
  const result = await build({
    entryPoints: [path.join(ROOT, source)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Maps are written beside each bundle but only read with NODE_OPTIONS=--enable-source-maps:
    // loading them in every process costs memory and time for a stack trace that, unminified, is readable anyway.
    sourcemap: 'linked',
    keepNames: true,
    // import() of a package becomes require(): a CommonJS program's import() goes through Node's ESM
    // loader, which first scans the whole module for its exports (cjs-module-lexer). Prisma's client
    // imports its query compiler and the compiler's WebAssembly as base64 text (MBs) that way: 0.25–0.3 s
    // of every service's start.
    supported: { 'dynamic-import': false },
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
    plugins: [thirdPartyExternal],
  });
  return checkExternals(name, outfile, result.metafile);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    return;
  }
  const onlyAt = args.indexOf('--only');
  const names = (onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : Object.keys(PROGRAMS)) as ProgramName[];
  const unknown = names.filter((n) => !(n in PROGRAMS));
  if (unknown.length) throw new Error(`unknown program(s): ${unknown.join(', ')}`);
  const started = Date.now();
  const problems = (await Promise.all(names.map(buildProgram))).flat();
  if (problems.length) {
    for (const problem of problems) console.error(`build: ${problem}`);
    process.exit(1);
  }
  console.log(`built ${names.length} programs in ${Date.now() - started} ms: ${names.map((n) => PROGRAMS[n].compiled).join(', ')}`);
}

main().catch((error) => {
  console.error(`build failed: ${(error as Error).message}`);
  process.exit(1);
});
