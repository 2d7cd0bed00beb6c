import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeFolder } from '@anime/media';

/** Where imports keep their upload and inflated entries: inside the library, so on its disk, never in memory. */
export const IMPORTS_DIR = path.join('.tmp', 'imports');

/** Older than this, a workspace is a leftover of a process that died mid-import. */
const STALE_AFTER_MS = 60 * 60_000;

export interface BundleWorkspace {
  dir: string;
  /** A path inside the workspace for a file the import writes. */
  file(name: string): string;
  /** Removes the workspace and everything in it; safe to call more than once. */
  dispose(): Promise<void>;
}

/** A fresh directory for one import under `<libraryDir>/.tmp/imports/`. */
export async function createBundleWorkspace(libraryDir: string): Promise<BundleWorkspace> {
  const dir = path.join(libraryDir, IMPORTS_DIR, randomUUID());
  await makeFolder(dir);
  return {
    dir,
    file: (name) => path.join(dir, name),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Removes workspaces a killed process left; only old ones, since another gateway sharing the
 * library may be importing right now. Returns how many went.
 */
export async function removeStaleBundleWorkspaces(libraryDir: string, now = Date.now()): Promise<number> {
  const root = path.join(libraryDir, IMPORTS_DIR);
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const dir = path.join(root, name);
    const info = await stat(dir).catch(() => null);
    if (info && now - info.mtimeMs > STALE_AFTER_MS) {
      await rm(dir, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
