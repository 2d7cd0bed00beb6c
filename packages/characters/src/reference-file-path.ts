import path from 'node:path';
import { safeName } from './safe-name';

export interface ReferenceFileName {
  characterSlug: string;
  sha256: string;
  label: string;
  /** Without the dot, from the sniffed bytes (png, jpg, webp). */
  extension: string;
}

/**
 * `references/<slug>/<sha256 prefix>-<safe label>.<ext>`, relative to LIBRARY_DIR with forward
 * slashes. The content hash in the name means the same bytes always land on the same file, so an
 * existing file never needs rewriting and two labels for one image cannot overwrite each other.
 */
export function referenceFilePath(input: ReferenceFileName): string {
  const name = `${input.sha256.slice(0, 8)}-${safeName(input.label, 'reference')}.${input.extension}`;
  return path.posix.join('references', input.characterSlug, name);
}
