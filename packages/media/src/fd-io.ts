import fs from 'node:fs';
import { promisify } from 'node:util';

/*
 * File-descriptor I/O for the library's synced writes. fs/promises' FileHandle (an object with a
 * native handle and a finalizer per open file) cost about twice the user CPU of these for the open,
 * write, fsync, close and rename of an image and its sidecar: ~0.19 against ~0.10 ms, measured
 * alternately in one process (the kernel's share, the same either way, is the larger one).
 */

export const openFd = promisify(fs.open);
export const fsyncFd = promisify(fs.fsync);
export const closeFd = promisify(fs.close);
const writeFd = promisify(fs.write);

/** Writes all of `bytes` from the start of the file (a write may take fewer bytes than given). */
export async function writeAllFd(fd: number, bytes: Buffer): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await writeFd(fd, bytes, written, bytes.length - written, written);
    written += bytesWritten;
  }
}
