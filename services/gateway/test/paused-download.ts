import { request, type IncomingHttpHeaders } from 'node:http';
import type { TestGateway } from './start-test-gateway';

export interface PausedDownload<T> {
  status: number;
  headers: IncomingHttpHeaders;
  /** 'end': the answer ended whole; 'aborted': the connection was cut; 'no end': nothing ended it within `giveUpMs`. */
  ending: 'end' | 'aborted' | 'no end';
  body: Buffer;
  /** What `meanwhile` gave (undefined when the answer ended before it did). */
  meanwhile: T | undefined;
  /** Date.now() when `meanwhile` began. */
  meanwhileAt: number;
  /** Date.now() when the client read on, `meanwhile` done (0 when the answer ended before). */
  readOnAt: number;
  /** Date.now() when the answer ended. */
  endedAt: number;
}

/**
 * GETs `url` from `gateway` (with its admin key and `headers`) as a client that stops reading once
 * the headers arrived: the gateway streams until the socket's buffers are full, then waits for it.
 * After `pauseMs`, `meanwhile` runs (the GET fails if it does), then the client reads on. How the
 * answer ended, every byte that arrived, and when; with `giveUpMs`, the client cuts the connection
 * that long after reading on ('no end').
 */
export function downloadPausedWhile<T>(
  gateway: TestGateway,
  url: string,
  options: { pauseMs: number; giveUpMs?: number; headers?: Record<string, string> },
  meanwhile: () => Promise<T>,
): Promise<PausedDownload<T>> {
  const target = new URL(url, gateway.baseUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: { ...gateway.authHeaders, ...options.headers }, agent: false }, (res) => {
      answered = true;
      res.pause();
      const chunks: Buffer[] = [];
      let given: T | undefined;
      let meanwhileAt = 0;
      let readOnAt = 0;
      let settled = false;
      let giveUp: NodeJS.Timeout | undefined;
      const finish = (ending: PausedDownload<T>['ending']) => {
        if (settled) return;
        settled = true;
        clearTimeout(giveUp);
        if (ending === 'no end') req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, ending, body: Buffer.concat(chunks), meanwhile: given, meanwhileAt, readOnAt, endedAt: Date.now() });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(res.complete ? 'end' : 'aborted'));
      res.on('aborted', () => finish('aborted'));
      res.on('error', () => finish('aborted'));
      res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
      setTimeout(() => {
        meanwhileAt = Date.now();
        meanwhile().then((value) => {
          given = value;
          readOnAt = Date.now();
          if (options.giveUpMs !== undefined) giveUp = setTimeout(() => finish('no end'), options.giveUpMs);
          res.resume();
        }, reject);
      }, options.pauseMs);
    });
    // Once the answer began, a cut connection is what `res` reports.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    req.end();
  });
}
