import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_FILE } from './library-storage';

/**
 * How old a temp file must be before it is taken for a leftover. A write (open, write, fsync,
 * rename) of even a large image takes seconds; ten minutes is far past any live one.
 */
export const PARTIAL_GRACE_MS = 10 * 60_000;

/**
 * Removes the temp files (`<file>.<hex>.partial`) that a LocalLibraryStorage write leaves behind
 * when its process dies between open and rename; run at start by the services that write the
 * library. Only files older than the grace go: the library is never written by one process alone
 * (the gateway stores references, the file-organizer files outputs, and either may run as several
 * replicas), so a younger temp file may be another process's write in progress, and removing it
 * would fail that write's rename. Returns the removed paths, relative to the root.
 */
export async function removeStalePartials(root: string, options: { graceMs?: number; now?: number } = {}): Promise<string[]> {
  const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? PARTIAL_GRACE_MS);
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || !PARTIAL_FILE.test(entry.name)) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    try {
      if ((await stat(absolute)).mtimeMs >= cutoff) continue;
      await rm(absolute);
      removed.push(path.relative(root, absolute));
    } catch (error) {
      // Renamed or removed meanwhile by its writer or another replica's sweep: nothing left to do.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
