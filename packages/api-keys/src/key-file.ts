import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where scripts/setup.sh keeps the demo key. */
export const DEFAULT_KEY_FILE = path.join(os.homedir(), '.config', 'anime', 'api-key');

/**
 * Writes a key to a file only its owner may read (0600, in a 0700 directory): a key on a command
 * line or in an environment shown by `ps` would leak to every user of the machine. The file is
 * written under a temporary name first, so a reader never sees half a key.
 */
export async function writeKeyFile(file: string, key: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, `${key}\n`, { mode: 0o600 });
  await chmod(partial, 0o600);
  await rename(partial, file);
}

/** The key in a key file, or null when there is none. */
export async function readKeyFile(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
