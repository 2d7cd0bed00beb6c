import { createReadStream } from 'node:fs';
import type { PassThrough, Transform } from 'node:stream';
import { ZipFile } from 'yazl';
import { LIBRARY_READ_BASE_MS, LibraryNotAnsweringError, watchLibraryReadStall } from '@anime/media';
import { REFERENCES_DIR } from './bundle-format';
import type { BundleFile } from './collect-bundle-files';
import { verifiedFileStream } from './verified-file-stream';

/** How long an image being zipped may give no byte, the zip waiting for it, before the library is taken as not answering. */
export const BUNDLE_READ_STALL_TIMEOUT_MS = LIBRARY_READ_BASE_MS;

/** Unix mode recorded for every image entry: a regular file, rw-r--r--. */
const IMAGE_MODE = 0o100644;

/**
 * A zip of the files, streamed; images are stored as they are, since deflating them gains nothing.
 * Each image is read from the library only when the zip reaches it, and checked as it streams
 * against the size and sha256 its row records (verifiedFileStream): one changed, gone or unreadable
 * since it was checked fails the stream before its last bytes, and so before the zip's central
 * directory. The answer's 200 went out long before: the export's connection is destroyed, and what
 * the client received does not parse as a zip, never a whole archive holding other bytes. An
 * image whose read the library stops answering (no byte for BUNDLE_READ_STALL_TIMEOUT_MS while the
 * zip waits for one: a hung mount) fails the stream the same way, with LibraryNotAnsweringError.
 */
export function zipFiles(files: BundleFile[]): NodeJS.ReadableStream {
  const zip = new ZipFile();
  // yazl emits on the ZipFile, which nothing else listens to (thrown, it would take the process
  // down): the output stream fails instead.
  zip.on('error', (error: Error) => (zip.outputStream as PassThrough).destroy(error));
  // The image streaming when the output ends early (an error, a client gone) is closed with it:
  // yazl's chain of pipes would leave it paused, its file open, for good.
  const streaming = new Set<Transform>();
  (zip.outputStream as PassThrough).on('close', () => {
    for (const stream of streaming) stream.destroy();
  });
  for (const file of files) {
    const options = { compress: !file.path.startsWith(REFERENCES_DIR) };
    if ('bytes' in file) {
      zip.addBuffer(file.bytes, file.path, options);
      continue;
    }
    // The recorded size, not a stat's: a file changed before the zip reads it cannot set its own.
    zip.addReadStreamLazy(file.path, { ...options, size: file.size, mode: IMAGE_MODE }, (give) => {
      const source = createReadStream(file.source);
      const stream = verifiedFileStream(source, file);
      // A read the library does not answer (a hung mount) while the zip waits for it fails the export
      // (the stream's own error would wait for that read); the file is closed once it answers.
      watchLibraryReadStall(source, BUNDLE_READ_STALL_TIMEOUT_MS, () => stream.destroy(new LibraryNotAnsweringError(`the file of reference ${file.referenceId}`, BUNDLE_READ_STALL_TIMEOUT_MS)));
      streaming.add(stream);
      stream.on('close', () => streaming.delete(stream));
      stream.on('error', (error: Error) => zip.emit('error', error));
      give(null, stream);
    });
  }
  zip.end();
  return zip.outputStream;
}
