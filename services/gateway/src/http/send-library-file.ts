import type { Readable } from 'node:stream';
import type { Response } from 'express';
import { LIBRARY_READ_BASE_MS, LibraryNotAnsweringError, watchLibraryReadStall, type LibraryFileStream } from '@anime/media';

/** How long a download may wait for its file's stat, open and first read before the library is taken as not answering. */
export const DOWNLOAD_START_TIMEOUT_MS = LIBRARY_READ_BASE_MS;
/** How long a download under way may wait for its file's next bytes (the client waiting for them) before the library is taken as not answering. */
export const DOWNLOAD_STALL_TIMEOUT_MS = LIBRARY_READ_BASE_MS;

const SEND_OPTIONS = { dotfiles: 'allow', headers: { 'Cache-Control': 'private, max-age=31536000, immutable' } } as const;

/**
 * Sends a library file (Express's sendFile: validators, ranges, caching), settling once: with
 * sendFile's own outcome, or with LibraryNotAnsweringError naming `relativePath` when the library
 * stops answering (a hung mount). Before the headers went out (nothing sent after
 * DOWNLOAD_START_TIMEOUT_MS: its stat, open or first read not answered) the error middleware answers
 * that 503 library_unreadable (ETIMEDOUT); once they did (its file's stream gave no byte for
 * DOWNLOAD_STALL_TIMEOUT_MS while the client waited for one: a read not answered half-way), it
 * destroys the connection, so the client sees a transfer shorter than its Content-Length, never a
 * whole file. Nothing is sent twice: sendFile's later outcome is ignored, and once the response
 * ends, send gives up its file (a stat answering late finds the headers sent and stops; the read
 * stream is destroyed with the response, its file closed once the read left behind answers). A
 * client reading slowly is not cut: the file's stream waits paused for it, which does not count.
 */
export function sendLibraryFile(res: Response, absolute: string, relativePath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let stopWatching = () => {};
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopWatching();
      res.off('pipe', watch);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      // Streaming (or answered, a 304 or a HEAD): the stream's watch, or what sendFile says at its end, decides.
      if (res.headersSent || res.writableEnded) return;
      settle(new LibraryNotAnsweringError(relativePath, DOWNLOAD_START_TIMEOUT_MS));
    }, DOWNLOAD_START_TIMEOUT_MS);
    // send pipes the file's read stream into the response (not for a HEAD, a 304 or a 416).
    const watch = (source: Readable) => {
      if (typeof (source as Partial<LibraryFileStream>).bytesRead !== 'number') return;
      stopWatching = watchLibraryReadStall(source as LibraryFileStream, DOWNLOAD_STALL_TIMEOUT_MS, () =>
        settle(new LibraryNotAnsweringError(relativePath, DOWNLOAD_STALL_TIMEOUT_MS)),
      );
    };
    res.once('pipe', watch);
    // A client gone half-way (ECONNABORTED: a closed tab, a canceled download) leaves nothing to
    // answer and is no fault here: settled as sent, not passed on as an unexpected error.
    res.sendFile(absolute, SEND_OPTIONS, (error) => settle(isClientGone(error) ? undefined : error));
  });
}

/** What sendFile reports when the client left before the file was sent whole. */
const isClientGone = (error: unknown): boolean => ['ECONNABORTED', 'ECONNRESET', 'EPIPE'].includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
