import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { NodeEnvironment } from '../nodes/node-definition';
import type { RecordedUpload } from '../simulator-state';
import { isFile, type MultipartFile, type MultipartForm } from './multipart';
import { isInside, pyJoin } from './safe-paths';

export type UploadOutcome = { status: 200; body: { name: string; subfolder: string; type: string }; record: RecordedUpload } | { status: 400 } | { status: 500 };

/** What /upload/mask writes instead of the bytes received (image_save_function); it may throw (a 500). */
export type SaveImage = (filepath: string, image: MultipartFile) => void;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * server.image_upload, in its order: the folder type first (any other than input, temp or output
 * raises, a 500, even with no image), then the image part: missing or empty → 400; a plain field
 * rather than a file → `image.file` raises, a 500. Without overwrite, a name clash with identical
 * bytes reuses the existing file, different bytes get "name (1).ext", "name (2).ext"…
 */
export function storeUpload(form: MultipartForm, env: NodeEnvironment, save?: SaveImage): UploadOutcome {
  const type = form.get('type') ?? 'input';
  const dirs: Record<string, string> = { input: env.inputDir, temp: env.tempDir, output: env.outputDir };
  if (typeof type !== 'string' || !Object.hasOwn(dirs, type)) return { status: 500 };
  const uploadDir = resolve(dirs[type]);

  const image = form.get('image');
  if (image === undefined || (!isFile(image) && image.length === 0)) return { status: 400 };
  if (!isFile(image)) return { status: 500 };
  if (!image.filename) return { status: 400 };

  const subfolder = form.get('subfolder') ?? '';
  // os.path.normpath of a file part, or os.path.join of str and bytes, raises.
  if (typeof subfolder !== 'string') return { status: 500 };
  const folder = pyJoin(uploadDir, normalize(subfolder || '.'));
  let filename = image.filename;
  let filepath = resolve(folder, filename);
  if (!isInside(uploadDir, filepath)) return { status: 400 };
  mkdirSync(folder, { recursive: true });

  const digest = sha256(image.data);
  let duplicate = false;
  const overwrite = form.get('overwrite');
  if (overwrite !== 'true' && overwrite !== '1') {
    const extension = extname(image.filename);
    const stem = image.filename.slice(0, image.filename.length - extension.length);
    for (let i = 1; existsSync(filepath); i++) {
      if (sha256(readFileSync(filepath)) === digest) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${extension}`;
      filepath = join(folder, filename);
    }
  }
  if (!duplicate) {
    if (save) save(filepath, image);
    else writeFileSync(filepath, image.data);
  }
  return {
    status: 200,
    body: { name: filename, subfolder, type },
    record: { name: filename, subfolder, type, sha256: digest, bytes: image.data.length },
  };
}
