import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The one folder that holds every scratch file of a bench run (each stack's library, its
 * simulators' output folders, the filing floor's files), removed only once the run is over.
 *
 * Why not remove a stack's files when the stack stops: on ext4 without a journal, as this
 * machine's root file system is, creating a file skips every free inode of its group that was
 * freed in the last 5 s, or 300 s while its inode-table block is dirty (fs/ext4/ialloc.c,
 * recently_deleted()), and looks each one up on the way. After a mass deletion a new file costs
 * several times more CPU, for minutes: measured here, 0.15 ms per synced file on a quiet file
 * system, 0.40 ms after deleting 3,000 files and 0.75 ms after deleting 12,000. A stack that
 * removed its thousands of images would bill the next stack's file-organizer and simulators for
 * that, and the figures would depend on the order of the scenarios.
 */
export async function withScratchRoot<T>(use: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(tmpdir(), 'anime-bench-'));
  try {
    return await use(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A new folder of its own in the run's scratch root. */
export const scratchFolder = (root: string, name: string) => mkdtemp(path.join(root, `${name}-`));
