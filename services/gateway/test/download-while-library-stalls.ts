import type { IncomingHttpHeaders } from 'node:http';
import { holdEveryPoolThread } from './hold-pool-threads';
import { downloadPausedWhile } from './paused-download';
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
 * and when; the threads stay held until `release`.
 */
export async function downloadWhileLibraryStalls(gateway: TestGateway, url: string, fifoDir: string, giveUpMs: number, headers: Record<string, string> = {}): Promise<StalledDownload> {
  // After 500 ms the gateway has filled the socket's buffers; a read it asked for meanwhile (the socket drained a little) stalls from the hold on.
  const answer = await downloadPausedWhile(gateway, url, { pauseMs: 500, giveUpMs, headers }, () => holdEveryPoolThread(fifoDir));
  return {
    status: answer.status,
    headers: answer.headers,
    ending: answer.ending,
    body: answer.body,
    endedAfterMs: answer.endedAt - answer.readOnAt,
    endedSinceHoldMs: answer.endedAt - answer.meanwhileAt,
    release: answer.meanwhile!,
  };
}
