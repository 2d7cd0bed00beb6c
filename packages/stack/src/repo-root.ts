import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The workspace root (the folder holding pnpm-workspace.yaml), searched upwards from this file:
 * the same answer from the TypeScript sources and from a bundle in any dist/ folder.
 */
export function findRepoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
  }
}
