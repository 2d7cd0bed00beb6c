import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { decodePng } from '../images/png-decoder';
import { encodePng } from '../images/png-encoder';
import type { NodeEnvironment } from '../nodes/node-definition';
import { pyJsonLoads } from '../python/py-json-loads';
import { isFile, type MultipartForm } from './multipart';
import { commonPath, pyJoin, splitAnnotation } from './safe-paths';
import type { SaveImage } from './store-upload';

/** Magic numbers of the other formats PIL opens (JPEG, GIF, WebP, BMP, TIFF): real images the simulator cannot composite. */
const OTHER_IMAGES = [/^\xff\xd8\xff/, /^GIF8/, /^RIFF[\s\S]{4}WEBP/, /^BM/, /^(II\*\x00|MM\x00\*)/];

function decodeImage(bytes: Buffer, what: string) {
  const png = decodePng(bytes);
  if (png) return png;
  const head = bytes.subarray(0, 12).toString('latin1');
  // PIL raises UnidentifiedImageError (a 500) on anything that isn't an image; on other formats it would go on.
  if (OTHER_IMAGES.some((magic) => magic.test(head))) throw new Error(`the simulator composites PNG images only; the ${what} is another format`);
  throw new Error(`cannot identify the ${what} as an image`);
}

/**
 * server.upload_mask's image_save_function: copies the uploaded mask's alpha channel onto the image
 * `original_ref` names, keeping that image's text chunks, and saves it as PNG where the upload goes.
 * Its early `return web.Response(status=400/403)` lines go nowhere (image_upload ignores what it
 * returns): a bad or missing reference writes nothing and the upload still answers 200 with the name.
 * What raises in Python throws here (a 500): no or bad original_ref JSON, no `filename` key, pictures
 * of different sizes, a mask that isn't an image, a name not ending in .png (PIL writes no RGBA JPEG,
 * knows no extensionless format). Beyond ComfyUI, only PNGs are composited.
 */
export function maskComposite(form: MultipartForm, env: NodeEnvironment): SaveImage {
  return (filepath, mask) => {
    const field = form.get('original_ref');
    // json.loads(None) and json.loads(FileField) raise TypeError; json.loads takes str or bytes.
    if (field === undefined || isFile(field)) throw new TypeError('original_ref is not text');
    const ref = pyJsonLoads(typeof field === 'string' ? field : new TextDecoder('utf-8', { fatal: true }).decode(field));
    if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) throw new TypeError('original_ref is not a JSON object');
    const original = ref as Record<string, unknown>;
    if (!('filename' in original)) throw new Error("KeyError: 'filename'");
    if (typeof original.filename !== 'string') throw new TypeError('original_ref filename is not a string');

    const dirs: Record<string, string> = { output: resolve(env.outputDir), input: resolve(env.inputDir), temp: resolve(env.tempDir) };
    const annotated = splitAnnotation(original.filename);
    const filename = annotated.name;
    if (!filename || filename.startsWith('/') || filename.includes('..')) return;
    let outputDir = annotated.type ? dirs[annotated.type] : undefined;
    if (outputDir === undefined) {
      const type = 'type' in original ? original.type : 'output';
      outputDir = typeof type === 'string' && Object.hasOwn(dirs, type) ? dirs[type] : undefined;
      if (outputDir === undefined) return;
    }
    const subfolder = 'subfolder' in original ? original.subfolder : '';
    if (subfolder !== '') {
      if (typeof subfolder !== 'string') throw new TypeError('original_ref subfolder is not a string');
      const full = pyJoin(outputDir, subfolder);
      if (commonPath(resolve(full), outputDir) !== outputDir) return;
      outputDir = full;
    }
    const file = join(outputDir, filename);
    if (!existsSync(file) || !statSync(file).isFile()) return;

    const picture = decodeImage(readFileSync(file), 'original image');
    const alpha = decodeImage(mask.data, 'mask');
    if (alpha.width !== picture.width || alpha.height !== picture.height) throw new Error('ValueError: images do not match');
    for (let i = 3; i < picture.rgba.length; i += 4) picture.rgba[i] = alpha.rgba[i];
    const extension = extname(filepath).toLowerCase();
    if (extension !== '.png') throw new Error(`the composite is saved by its name's extension, and ${extension || 'none'} is not .png`);
    const text = picture.text.map(({ keyword, value, itxt }): [string, string, { lang: string; tkey: string }?] => [keyword, value, itxt]);
    writeFileSync(filepath, encodePng({ width: picture.width, height: picture.height, rgb: picture.rgba, alpha: true, text, compressLevel: 4 }));
  };
}
