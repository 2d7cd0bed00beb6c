import { ZipFile } from 'yazl';
import { REFERENCES_DIR } from './bundle-format';
import type { BundleFile } from './collect-bundle-files';

/** A zip of the files, streamed; images are stored as they are, since deflating them gains nothing. */
export function zipFiles(files: BundleFile[]): NodeJS.ReadableStream {
  const zip = new ZipFile();
  for (const file of files) zip.addBuffer(file.bytes, file.path, { compress: !file.path.startsWith(REFERENCES_DIR) });
  zip.end();
  return zip.outputStream;
}
