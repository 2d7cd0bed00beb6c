import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { NodeEnvironment } from '../nodes/node-definition';
import type { RecordedUpload } from '../simulator-state';
import type { MultipartForm } from './multipart';
import { isInside, pyJoin } from './safe-paths';

export type UploadOutcome = { status: 200; body: { name: string; subfolder: string; type: string }; record: RecordedUpload } | { status: 400 } | { status: 500 };

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * server.image_upload: without overwrite, a name clash with identical bytes reuses the existing file,
 * different bytes get "name (1).ext", "name (2).ext"…
 */
export function storeUpload(form: MultipartForm, env: NodeEnvironment): UploadOutcome {
  const image = form.files.image;
  if (!image) return { status: 400 };
  const type = form.fields.type ?? 'input';
  const dirs: Record<string, string> = { input: env.inputDir, temp: env.tempDir, output: env.outputDir };
  // ComfyUI raises on any other type, which aiohttp turns into a 500.
  if (!(type in dirs)) return { status: 500 };
  const uploadDir = resolve(dirs[type]);
  if (!image.filename) return { status: 400 };

  const subfolder = form.fields.subfolder ?? '';
  const folder = pyJoin(uploadDir, normalize(subfolder || '.'));
  let filename = image.filename;
  let filepath = resolve(folder, filename);
  if (!isInside(uploadDir, filepath)) return { status: 400 };
  mkdirSync(folder, { recursive: true });

  const digest = sha256(image.data);
  let duplicate = false;
  if (form.fields.overwrite !== 'true' && form.fields.overwrite !== '1') {
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
  if (!duplicate) writeFileSync(filepath, image.data);
  return {
    status: 200,
    body: { name: filename, subfolder, type },
    record: { name: filename, subfolder, type, sha256: digest, bytes: image.data.length },
  };
}
