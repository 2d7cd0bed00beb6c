import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { safeName } from './safe-name';
import { sniffImage } from '@anime/media';

export type StoredReferenceFile =
  | {
      found: true;
      /** Relative to the library directory, with forward slashes. */
      path: string;
      sha256: string;
      bytes: number;
      width: number | null;
      height: number | null;
      mime: string;
      /** The bytes were not in the library yet: written now, or on a dry run, would be. */
      isNew: boolean;
    }
  | { found: false; sourcePath: string; reason: string };

export interface StoreReferenceFileInput {
  sourcePath: string;
  libraryDir: string;
  characterSlug: string;
  label: string;
  dryRun: boolean;
}

/**
 * Copies one reference image to `references/<slug>/<sha256 prefix>-<label>.<ext>` under the
 * library. The name carries the content hash, so the same bytes always land on the same file
 * and an existing one never needs rewriting.
 */
export async function storeReferenceFile(input: StoreReferenceFileInput): Promise<StoredReferenceFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(input.sourcePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { found: false, sourcePath: input.sourcePath, reason: code === 'ENOENT' ? 'no such file' : `unreadable (${code ?? 'error'})` };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const image = sniffImage(bytes);
  const relative = path.posix.join('references', input.characterSlug, `${sha256.slice(0, 12)}-${safeName(input.label, 'reference')}.${image.extension}`);
  const target = path.join(input.libraryDir, ...relative.split('/'));
  const stored = { found: true as const, path: relative, sha256, bytes: bytes.length, width: image.width, height: image.height, mime: image.mime };

  if (await holdsSameBytes(target, sha256)) return { ...stored, isNew: false };
  if (input.dryRun) return { ...stored, isNew: true };
  await mkdir(path.dirname(target), { recursive: true });
  // Written beside the target and renamed, so a crash never leaves a half file under the final name.
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, target);
  return { ...stored, isNew: true };
}

async function holdsSameBytes(file: string, sha256: string): Promise<boolean> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex') === sha256;
  } catch {
    return false;
  }
}
