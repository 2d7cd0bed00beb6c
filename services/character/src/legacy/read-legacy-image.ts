import { readFile } from 'node:fs/promises';

export type LegacyImage = { found: true; bytes: Buffer } | { found: false; reason: string };

/** A legacy reference image's bytes, or why there are none: the legacy paths are often stale. */
export async function readLegacyImage(sourcePath: string): Promise<LegacyImage> {
  try {
    return { found: true, bytes: await readFile(sourcePath) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { found: false, reason: code === 'ENOENT' ? 'no such file' : `unreadable (${code ?? 'error'})` };
  }
}
