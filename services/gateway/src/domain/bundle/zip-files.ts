import { ZipFile } from 'yazl';
import { REFERENCES_DIR } from './bundle-format';
import type { BundleFile } from './collect-bundle-files';

/** A zip of the files, streamed; images are stored as they are, since deflating them gains nothing. */
export function zipFiles(files: BundleFile[]): NodeJS.ReadableStream {
  const zip = new ZipFile();
  for (const file of files) {
    const options = { compress: !file.path.startsWith(REFERENCES_DIR) };
    // An image is read from the library as the zip streams, one at a time.
    if ('bytes' in file) zip.addBuffer(file.bytes, file.path, options);
    else zip.addFile(file.source, file.path, options);
  }
  zip.end();
  return zip.outputStream;
}
