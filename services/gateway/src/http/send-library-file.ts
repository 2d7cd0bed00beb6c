import type { Response } from 'express';
import { LIBRARY_READ_BASE_MS, LibraryNotAnsweringError } from '@anime/media';

/** How long a download may wait for its file's stat, open and first read before the library is taken as not answering. */
export const DOWNLOAD_START_TIMEOUT_MS = LIBRARY_READ_BASE_MS;

const SEND_OPTIONS = { dotfiles: 'allow', headers: { 'Cache-Control': 'private, max-age=31536000, immutable' } } as const;

/**
 * Sends a library file (Express's sendFile: validators, ranges, caching), settling once: with
 * sendFile's own outcome, or, when nothing has been sent after DOWNLOAD_START_TIMEOUT_MS (its stat or
 * open not answered: a hung mount), with LibraryNotAnsweringError naming `relativePath`, which the
 * error middleware answers 503 library_unreadable (ETIMEDOUT). Nothing is sent twice: sendFile's
 * later outcome is ignored, and once the error answer ends the response, send gives up its file (a
 * stat answering late finds the headers sent and stops; a read stream opened meanwhile is destroyed
 * with the response). A download whose headers went out is not cut: a client reading slowly keeps it.
 */
export function sendLibraryFile(res: Response, absolute: string, relativePath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      // Streaming (or answered, a 304 or a HEAD): what sendFile says at its end decides.
      if (res.headersSent || res.writableEnded) return;
      settle(new LibraryNotAnsweringError(relativePath, DOWNLOAD_START_TIMEOUT_MS));
    }, DOWNLOAD_START_TIMEOUT_MS);
    // A client gone half-way (ECONNABORTED: a closed tab, a canceled download) leaves nothing to
    // answer and is no fault here: settled as sent, not passed on as an unexpected error.
    res.sendFile(absolute, SEND_OPTIONS, (error) => settle(isClientGone(error) ? undefined : error));
  });
}

/** What sendFile reports when the client left before the file was sent whole. */
const isClientGone = (error: unknown): boolean => ['ECONNABORTED', 'ECONNRESET', 'EPIPE'].includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
