import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { WebhookAllowList } from '@anime/config';
import { toStorableText } from '@anime/contracts';
import { pinnedLookup, systemResolve, type Resolve } from './pinned-lookup';
import { addressRefusal, bareHost, checkScheme, hostAllowed, TargetRefusedError } from './target-policy';

export interface SendOptions {
  allow: WebhookAllowList;
  /** The whole attempt, connect to last byte read (default 10 s); an answer whose status is in by then is judged by that status. */
  timeoutMs?: number;
  /** The most of the answer read; the rest is dropped (default 64 KiB). */
  maxResponseBytes?: number;
  resolve?: Resolve;
  /** The sender stopping (the worker closing): the try is cut short and its outcome says so (`stopped`). */
  signal?: AbortSignal;
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The first bytes of the answer, for the delivery record. */
  excerpt: string | null;
  /** The answer's Retry-After header, on a 429 or 503 (when the receiver asks to be tried again). */
  retryAfter?: string;
  /** Cut short by `signal` before an answer came: the receiver may or may not have taken it. */
  stopped?: true;
}

const EXCERPT_CHARS = 500;
const STOPPED = 'cut short: the sender was stopping (its answer, if any, was not read); tried again at once';

/**
 * POSTs one signed message. Redirects are not followed (a 3xx fails the attempt: the signature was
 * made for this URL); only a 2xx succeeds. Never throws: every outcome is an attempt to record.
 */
export async function sendWebhook(rawUrl: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendOutcome> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxResponseBytes ?? 64 * 1024;
  const done = (outcome: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({ ...outcome, durationMs: Date.now() - started });
  try {
    const url = new URL(rawUrl);
    checkScheme(url);
    const host = bareHost(url);
    // An IP literal never goes through `lookup`: check it here.
    if (isIP(host) && !hostAllowed(host, options.allow)) {
      const refusal = addressRefusal(host, options.allow);
      if (refusal) throw new TargetRefusedError(refusal);
    }
    const client = url.protocol === 'https:' ? https : http;
    return await new Promise<SendOutcome>((resolve) => {
      // Set once the receiver's status is in: its answer, read up to where it ends or is cut, decides.
      let answered: (() => void) | undefined;
      const request = client.request(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body).toString(), 'user-agent': 'anime-webhooks/1', ...headers },
          lookup: pinnedLookup(options.allow, options.resolve ?? systemResolve),
          agent: false,
          signal: options.signal ? AbortSignal.any([AbortSignal.timeout(timeoutMs), options.signal]) : AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let read = 0;
          const finish = () => {
            const status = response.statusCode ?? 0;
            const excerpt = storableExcerpt(Buffer.concat(chunks).toString('utf8'));
            const ok = status >= 200 && status < 300;
            const error = ok ? null : status >= 300 && status < 400 ? `redirect (${status}) not followed` : `receiver answered ${status}`;
            const retryAfter = status === 429 || status === 503 ? response.headers['retry-after'] : undefined;
            resolve(done({ ok, statusCode: status, error, excerpt: excerpt || null, ...(retryAfter ? { retryAfter } : {}) }));
          };
          answered = finish;
          response.on('data', (chunk: Buffer) => {
            if (read < maxBytes) chunks.push(chunk.subarray(0, maxBytes - read));
            read += chunk.length;
            // Enough read: the rest of a huge answer is not waited for.
            if (read >= maxBytes) {
              finish();
              response.destroy();
            }
          });
          response.on('end', finish);
          response.on('error', () => finish());
        },
      );
      // A 101 Switching Protocols (with an Upgrade header) never reaches the response callback: Node
      // hands it to 'upgrade' listeners only and, with none, drops the socket without an error or a
      // timeout firing on the request, so the try (and a delivery slot) waited for ever.
      request.on('upgrade', (response: http.IncomingMessage, socket: Socket) => {
        socket.destroy();
        const status = response.statusCode ?? 101;
        resolve(done({ ok: false, statusCode: status, error: `receiver answered ${status} (switching protocols), not an answer to a webhook`, excerpt: null }));
      });
      request.on('error', (error) => {
        // Timed out or stopped once the receiver's status was in: that status is the try's outcome (a
        // 2xx took the message; only the rest of its answer was slow), not a failed or cut try to make again.
        if (answered) return answered();
        resolve(done(options.signal?.aborted ? { ok: false, statusCode: null, error: STOPPED, excerpt: null, stopped: true } : { ok: false, statusCode: null, error: describe(error), excerpt: null }));
      });
      request.end(body);
    });
  } catch (error) {
    return done({ ok: false, statusCode: null, error: describe(error as Error), excerpt: null });
  }
}

/**
 * The first characters of an answer as text PostgreSQL can store: a receiver's NUL bytes (which a
 * text column refuses, failing the record of a delivery that succeeded) become U+FFFD, as does half
 * of a surrogate pair cut at the limit.
 */
export function storableExcerpt(text: string): string {
  return toStorableText(text.slice(0, EXCERPT_CHARS));
}

function describe(error: Error): string {
  if (error instanceof TargetRefusedError) return `refused: ${error.message}`;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}
