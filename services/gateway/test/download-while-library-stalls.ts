import { request, type IncomingHttpHeaders } from 'node:http';
import { holdEveryPoolThread } from './hold-pool-threads';
import type { TestGateway } from './start-test-gateway';

export interface StalledDownload {
  status: number;
  headers: IncomingHttpHeaders;
  /** 'end': the answer ended whole; 'aborted': the connection was cut; 'no end': nothing ended it within `giveUpMs`. */
  ending: 'end' | 'aborted' | 'no end';
  body: Buffer;
  /** From the client reading on (the library already stalled) to the ending. */
  endedAfterMs: number;
  /** Ms from when the pool threads began to be held (the earliest a read can stall) to the end: what the lower bound of a cut is measured from. */
  endedSinceHoldMs: number;
  /** Frees the pool threads held (the library answers again). */
  release(): Promise<void>;
}

/**
 * GETs `url` as a client of a large download whose library stops answering half-way (a hung NFS
 * mount that answered the stat, the open and the first reads): the client stops reading once the
 * headers arrived, so the gateway streams until the socket's buffers are full and waits; then every
 * libuv pool thread is held (holdEveryPoolThread, fifos made in `fifoDir`), so the gateway's next
 * read of the file does not answer; then the client reads on. How the answer ended, what arrived,
 * and when; the threads stay held until `release` (freed at once if this fails).
 */
export async function downloadWhileLibraryStalls(gateway: TestGateway, url: string, fifoDir: string, giveUpMs: number, headers: Record<string, string> = {}): Promise<StalledDownload> {
  const target = new URL(url, gateway.baseUrl);
  let release: (() => Promise<void>) | undefined;
  try {
    return await new Promise<StalledDownload>((resolve, reject) => {
      let answered = false;
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: { ...gateway.authHeaders, ...headers }, agent: false }, (res) => {
        answered = true;
        res.pause();
        const chunks: Buffer[] = [];
        let readingOn = 0;
        let holding = 0;
        let settled = false;
        const finish = (ending: StalledDownload['ending']) => {
          if (settled) return;
          settled = true;
          clearTimeout(giveUp);
          if (ending === 'no end') req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, ending, body: Buffer.concat(chunks), endedAfterMs: Date.now() - readingOn, endedSinceHoldMs: Date.now() - holding, release: release! });
        };
        let giveUp: NodeJS.Timeout | undefined;
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => finish(res.complete ? 'end' : 'aborted'));
        res.on('aborted', () => finish('aborted'));
        res.on('error', () => finish('aborted'));
        res.on('close', () => finish(res.complete ? 'end' : 'aborted'));
        // The gateway fills the socket's buffers, then its file stream waits, paused, for this client.
        setTimeout(() => {
          // A read the gateway asked for meanwhile (the socket drained a little) stalls from here on.
          holding = Date.now();
          holdEveryPoolThread(fifoDir).then((held) => {
            release = held;
            readingOn = Date.now();
            giveUp = setTimeout(() => finish('no end'), giveUpMs);
            res.resume();
          }, reject);
        }, 500);
      });
      // Once the answer began, a cut connection is what `res` reports.
      req.on('error', (error) => (answered ? undefined : reject(error)));
      req.end();
    });
  } catch (error) {
    await release?.();
    throw error;
  }
}
