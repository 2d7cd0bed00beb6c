import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { NodeEnvironment } from '../nodes/node-definition';
import { commonPath, pyJoin, splitAnnotation } from './safe-paths';

export type ViewTarget = { status: 200; path: string; filename: string; contentType: string; attachment: boolean } | { status: 400 | 403 | 404 };

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif',
  '.bmp': 'image/bmp', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.json': 'application/json', '.txt': 'text/plain',
  '.mp4': 'video/mp4', '.webm': 'video/webm', '.mov': 'video/quicktime', '.wav': 'audio/x-wav', '.mp3': 'audio/mpeg',
  '.flac': 'audio/flac', '.ogg': 'audio/ogg', '.safetensors': 'application/octet-stream',
};

/** Types that could run script in the page: served as downloads, like ComfyUI does against stored XSS. */
const DANGEROUS = new Set(['.html', '.htm', '.js', '.mjs', '.css', '.svg', '.xml', '.xhtml']);

/** The /view rules: 400 for a leading "/" or "..", 403 when the subfolder escapes, 404 when missing. */
export function resolveView(query: URLSearchParams, env: NodeEnvironment): ViewTarget {
  const requested = query.get('filename');
  if (requested === null) return { status: 404 };
  const annotated = splitAnnotation(requested);
  if (!annotated.name) return { status: 400 };
  if (annotated.name.startsWith('/') || annotated.name.includes('..')) return { status: 400 };
  const type = annotated.type ?? query.get('type') ?? 'output';
  const dirs: Record<string, string> = { output: env.outputDir, input: env.inputDir, temp: env.tempDir };
  if (!(type in dirs)) return { status: 400 };
  const base = resolve(dirs[type]);
  let folder = base;
  const subfolder = query.get('subfolder');
  if (subfolder !== null) {
    folder = pyJoin(base, subfolder);
    if (commonPath(resolve(folder), base) !== base) return { status: 403 };
  }
  const filename = basename(annotated.name);
  const path = resolve(folder, filename);
  if (!existsSync(path) || !statSync(path).isFile()) return { status: 404 };
  const extension = extname(filename).toLowerCase();
  const attachment = DANGEROUS.has(extension);
  return { status: 200, path, filename, contentType: attachment ? 'application/octet-stream' : (CONTENT_TYPES[extension] ?? 'application/octet-stream'), attachment };
}
