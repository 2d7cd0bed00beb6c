import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROGRAMS } from './entries';
import { REPO_ROOT } from './service-process';

const SOURCE_ROOTS = ['packages', 'services', 'scripts'];

function newestSource(dir: string, best: { file: string; mtimeMs: number }): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'test' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newestSource(full, best);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      const { mtimeMs } = statSync(full);
      if (mtimeMs > best.mtimeMs) Object.assign(best, { file: full, mtimeMs });
    }
  }
}

/**
 * A TypeScript source changed after the oldest bundle was built (a forgotten `pnpm build`), or null.
 * Where there are no sources (the image), nothing is stale.
 */
export function staleBuildSource(): string | null {
  const compiled = Object.values(PROGRAMS).map((p) => path.join(REPO_ROOT, p.compiled)).filter(existsSync);
  if (!compiled.length) return null;
  const builtAt = Math.min(...compiled.map((file) => statSync(file).mtimeMs));
  const best = { file: '', mtimeMs: 0 };
  for (const root of SOURCE_ROOTS) if (existsSync(path.join(REPO_ROOT, root))) newestSource(path.join(REPO_ROOT, root), best);
  return best.mtimeMs > builtAt ? path.relative(REPO_ROOT, best.file) : null;
}
