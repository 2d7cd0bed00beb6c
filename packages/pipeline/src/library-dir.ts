import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeFolder } from '@anime/media';

/**
 * For the services that write the library: creates LIBRARY_DIR and proves it writable by writing
 * and removing a probe file, so a library that cannot take files stops the start instead of every
 * filing failing later. The message names LIBRARY_DIR and the error code, never the path (as with
 * every variable, the value is not repeated).
 */
export async function prepareLibraryDir(dir: string): Promise<void> {
  try {
    await makeFolder(dir);
  } catch (error) {
    throw new Error(`LIBRARY_DIR: cannot create the library directory (${codeOf(error)})`);
  }
  const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    throw new Error(`LIBRARY_DIR: the library directory is not writable (${codeOf(error)})`);
  }
  try {
    await rm(probe);
  } catch (error) {
    throw new Error(`LIBRARY_DIR: a file written in the library directory cannot be removed (${codeOf(error)})`);
  }
}

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException)?.code ?? 'unknown error';
