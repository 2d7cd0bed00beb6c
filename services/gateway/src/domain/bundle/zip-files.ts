import type { PassThrough } from 'node:stream';
import { ZipFile } from 'yazl';
import { REFERENCES_DIR } from './bundle-format';
import type { BundleFile } from './collect-bundle-files';

/** A zip of the files, streamed; images are stored as they are, since deflating them gains nothing. */
export function zipFiles(files: BundleFile[]): NodeJS.ReadableStream {
  const zip = new ZipFile();
  // An image gone or changed since it was checked fails the zip (yazl emits on the ZipFile, which
  // nothing else listens to: thrown, it would take the process down): the stream fails instead.
  zip.on('error', (error: Error) => (zip.outputStream as PassThrough).destroy(error));
  for (const file of files) {
    const options = { compress: !file.path.startsWith(REFERENCES_DIR) };
    // An image is read from the library as the zip streams, one at a time.
    if ('bytes' in file) zip.addBuffer(file.bytes, file.path, options);
    else zip.addFile(file.source, file.path, options);
  }
  zip.end();
  return zip.outputStream;
}
