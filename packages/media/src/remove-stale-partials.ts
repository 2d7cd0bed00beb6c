import type { Dir } from 'node:fs';
import { opendir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PARTIAL_FILE } from './library-storage';

/**
 * How old a temp file must be before it is taken for a leftover. A write (open, write, fsync,
 * rename) of even a large image takes seconds; ten minutes is far past any live one.
 */
export const PARTIAL_GRACE_MS = 10 * 60_000;

/** Entries read from a directory at a time: what the walk holds per directory it is in. */
const DIR_BUFFER_ENTRIES = 128;

export interface RemoveStalePartialsOptions {
  /** How old a temp file must be to go (default PARTIAL_GRACE_MS). */
  graceMs?: number;
  /** The clock the grace is counted from (default: now, when the sweep begins). */
  now?: number;
  /** Once aborted, the sweep stops at its next step and removes nothing more. */
  signal?: AbortSignal;
  /** Runs before each removal with the path relative to the root (a seam for tests to hold the sweep). */
  beforeRemove?: (relative: string) => Promise<void> | void;
}

/**
 * Removes the temp files (`<file>.<hex>.partial`) that a LocalLibraryStorage write leaves behind
 * when its process dies between open and rename; run after start and then hourly, in the background
 * (sweepStalePartialsInBackground), by the services that write the library. Only files older than
 * the grace go: the library is never written by one process alone (the gateway stores references,
 * the file-organizer files outputs, and either may run as several replicas), so a younger temp file
 * may be another process's write in progress, and removing it would fail that write's rename.
 * Symbolic links are neither followed nor removed.
 *
 * A year's library holds millions of files: the tree is walked one directory at a time, each read
 * a few entries at a time, so memory follows the tree's depth, never its size. Returns the removed
 * paths (relative to the root), as many as there were leftovers; those removed before an abort
 * when aborted.
 */
export async function removeStalePartials(root: string, options: RemoveStalePartialsOptions = {}): Promise<string[]> {
  const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? PARTIAL_GRACE_MS);
  const { signal } = options;
  const removed: string[] = [];
  for await (const absolute of filesNamedUnder(root, PARTIAL_FILE, signal)) {
    const relative = path.relative(root, absolute);
    try {
      if ((await stat(absolute)).mtimeMs >= cutoff) continue;
      await options.beforeRemove?.(relative);
      if (signal?.aborted) break;
      await rm(absolute);
      removed.push(relative);
    } catch (error) {
      // Renamed or removed meanwhile by its writer or another replica's sweep: nothing left to do.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/**
 * The regular files under `root` whose name matches, depth first, with fs.opendir: one open
 * directory handle per level of the path being walked, each buffering DIR_BUFFER_ENTRIES entries.
 * A directory gone meanwhile (or the root missing) is skipped. Stops, closing its handles, once
 * `signal` is aborted or the caller stops iterating.
 */
async function* filesNamedUnder(root: string, name: RegExp, signal?: AbortSignal): AsyncGenerator<string> {
  const open = async (dir: string): Promise<Dir | null> => {
    try {
      return await opendir(dir, { bufferSize: DIR_BUFFER_ENTRIES });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || (code === 'ENOTDIR' && dir !== root)) return null;
      throw error;
    }
  };
  const first = await open(root);
  if (!first) return;
  const stack: Dir[] = [first];
  try {
    while (stack.length && !signal?.aborted) {
      const dir = stack[stack.length - 1];
      const entry = await dir.read();
      if (!entry) {
        stack.pop();
        await dir.close();
      } else if (entry.isDirectory()) {
        // A Dirent tells the link itself, so a link to a directory is not entered.
        const child = await open(path.join(dir.path, entry.name));
        if (child) stack.push(child);
      } else if (entry.isFile() && name.test(entry.name)) {
        yield path.join(dir.path, entry.name);
      }
    }
  } finally {
    for (const dir of stack.reverse()) await dir.close().catch(() => undefined);
  }
}
