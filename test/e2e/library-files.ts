import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Every file the library holds outside references/, as sorted paths relative to it ('/'-separated). */
export async function libraryFiles(libraryDir: string): Promise<string[]> {
  const entries = await readdir(libraryDir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(libraryDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((f) => !f.startsWith('references/'))
    .sort();
}
