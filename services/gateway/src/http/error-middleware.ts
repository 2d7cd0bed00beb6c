import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { CharacterDomainError } from '@anime/characters';
import type { Logger } from '@anime/logger';
import { isDatabaseUnavailable } from '@anime/db';
import { LibraryNotAnsweringError, libraryRefusal } from '@anime/media';
import { WorkflowDomainError } from '@anime/workflows';
import { ApiError } from './api-error';
import { LibraryFileUnreadableError } from './library-file-unreadable';
import { isLibraryTimeout, libraryTimeout } from './library-timeout';
import { errorCodeForStatus } from './status-error-code';
import { undecodableBodyEncoding } from './undecodable-body';

/** Seconds a client is asked to wait when PostgreSQL is away: a restart or failover takes about that. */
export const DATABASE_RETRY_AFTER_S = 5;
/** Seconds a client is asked to wait when the library refuses writes or a download's read: an operator has to free, remount or fix it. */
export const LIBRARY_RETRY_AFTER_S = 60;

/** A GET or HEAD: no such route writes to the library. */
const isRead = (method: string) => method === 'GET' || method === 'HEAD';

interface BodyParserError { type?: string; status?: number; expose?: boolean; message: string; body?: unknown }

/**
 * What is wrong with a body express.json refused: JSON that is not an object or an array (`null`,
 * `"x"`, `3`) is valid JSON, which the message must not deny.
 */
function unparsedBodyMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      const value: unknown = JSON.parse(body);
      return `request body must be a JSON object, not ${value === null ? 'null' : typeof value}`;
    } catch {
      // Not JSON at all.
    }
  }
  return 'request body is not valid JSON';
}

/** Maps every error to `{ error: { code, message, details? } }`; only the unknown is a 500. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const parserError = error as BodyParserError;
    const undecodableEncoding = undecodableBodyEncoding(error, req);
    let status = 500;
    let body: { code: string; message: string; details?: unknown };
    // Headers of the answer, set only if it can still be given (a download cut half-way cannot).
    let retryAfterS: number | undefined;
    let dropRanges = false;
    if (error instanceof ApiError) {
      status = error.status;
      body = { code: error.code, message: error.message, details: error.details };
    } else if (error instanceof CharacterDomainError || error instanceof WorkflowDomainError) {
      status = error.status;
      body = { code: error.code, message: error.message, details: error.details };
    } else if (error instanceof URIError) {
      // The router could not percent-decode a path parameter.
      status = 400;
      body = { code: 'invalid_path', message: 'the URL path is not valid percent-encoded UTF-8' };
    } else if (parserError.type === 'entity.parse.failed') {
      status = 400;
      body = { code: 'invalid_json', message: unparsedBodyMessage(parserError.body) };
    } else if (parserError.type === 'entity.too.large') {
      status = 413;
      body = { code: 'payload_too_large', message: 'request body is too large' };
    } else if (undecodableEncoding !== null) {
      status = 400;
      body = { code: 'invalid_content_encoding', message: `the body could not be decompressed as Content-Encoding "${undecodableEncoding}"` };
    } else if (parserError.expose && parserError.status && parserError.status < 500) {
      status = parserError.status;
      body = { code: errorCodeForStatus(parserError.status), message: parserError.message };
    } else if (isDatabaseUnavailable(error)) {
      // An outage, not a bug: the client may try again, and the cause is logged without a stack.
      status = 503;
      retryAfterS = DATABASE_RETRY_AFTER_S;
      log.warn('database unavailable', { requestId: res.locals.requestId, path: req.path, error: (error as Error).message?.split('\n').at(-1) });
      body = { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' };
    } else if (error instanceof LibraryFileUnreadableError || (isRead(req.method) && (error instanceof LibraryNotAnsweringError || isLibraryTimeout(error)))) {
      // A download's file the gateway may not read (EACCES, EPERM, EIO, ELOOP), or whose read did not
      // answer in time (ETIMEDOUT: a hung mount, or a network mount's own timeout): an operator fixes
      // the permission, the volume or the mount; the file may be fine, so nothing was marked missing.
      status = 503;
      retryAfterS = LIBRARY_RETRY_AFTER_S;
      // sendFile offered ranges (or the one asked for) of a file it then could not read (a 412 or 416 keeps them).
      dropRanges = true;
      const unreadable = error instanceof LibraryFileUnreadableError;
      const { reason, said } = unreadable ? { reason: error.reason, said: error.message } : libraryTimeout(error);
      const message = unreadable ? said : `${said}: the file cannot be read from the library now (${reason}); it is not marked missing; try again once the library answers`;
      const title = unreadable ? 'library file unreadable' : 'library not answering';
      // Once the file's headers went out, the answer is cut below: said in the line, the one it gets.
      log.warn(res.headersSent ? `${title}: download cut mid-stream` : title, { requestId: res.locals.requestId, path: req.path, code: reason, error: (error as Error).message });
      body = { code: 'library_unreadable', message, details: { reason } };
    } else if (error instanceof LibraryNotAnsweringError || isLibraryTimeout(error)) {
      // A read a write route needed (an upload's or an import's look at a file already there) did not
      // answer in time (a hung mount), or a network mount timed out a call of the write itself: an
      // outage, answered before anything was recorded.
      status = 503;
      retryAfterS = LIBRARY_RETRY_AFTER_S;
      const { reason, said } = libraryTimeout(error);
      log.warn('library not answering', { requestId: res.locals.requestId, path: req.path, code: reason, error: (error as Error).message });
      // A write the mount timed out half-way may leave its temp file (its removal timed out too), never a row.
      const kept = error instanceof LibraryNotAnsweringError ? 'nothing was stored' : 'nothing was recorded';
      body = { code: 'library_unavailable', message: `the library cannot store files now: ${said} (${reason}); ${kept}; try again once it answers`, details: { reason } };
    } else if (!isRead(req.method) && libraryRefusal(error)) {
      // Not on a read: EACCES/EPERM there is a file this process may not read (a download answers
      // library_unreadable, above), and no GET or HEAD writes to the library.
      // The library volume is full, read-only or not writable (an upload, an import): an outage an
      // operator fixes, not a bug; what was being stored was not (the temp file is removed).
      const refusal = libraryRefusal(error)!;
      status = 503;
      retryAfterS = LIBRARY_RETRY_AFTER_S;
      log.warn('library refuses writes', { requestId: res.locals.requestId, path: req.path, code: refusal.code, error: (error as Error).message });
      body = { code: 'library_unavailable', message: `the library cannot store files now: ${refusal.reason} (${refusal.code}); try again once it is fixed`, details: { reason: refusal.code } };
    } else {
      const errorId = randomUUID();
      log.error('unexpected error', { errorId, requestId: res.locals.requestId, path: req.path, error: (error as Error).message, stack: (error as Error).stack });
      body = { code: 'internal', message: `unexpected error (id ${errorId})` };
    }
    if (body.details === undefined) delete body.details;
    if (res.headersSent) {
      // A file was already streaming: nothing can be said any more; end the answer.
      res.destroy();
      return;
    }
    if (retryAfterS !== undefined) res.setHeader('Retry-After', String(retryAfterS));
    if (dropRanges) for (const header of ['Accept-Ranges', 'Content-Range']) res.removeHeader(header);
    // A download route may have set its file's type and caching before failing: the error is JSON.
    for (const header of ['Content-Type', 'Content-Disposition', 'ETag', 'Cache-Control', 'Last-Modified']) res.removeHeader(header);
    res.status(status).json({ error: body });
  };
}

export const notFoundRoute: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'route_not_found', message: `no route for ${req.method} ${req.path}` } });
};
