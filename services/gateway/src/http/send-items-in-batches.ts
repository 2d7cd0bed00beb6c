import { once } from 'node:events';
import type { Response } from 'express';

/**
 * Answers `{ "items": [...] }` with every item of a list that has no page limit (a character's
 * versions), read and written a batch at a time: what the gateway holds is one batch, not the list
 * (200 versions of ~700 KB once made a 950 MiB peak). `nextBatch(last)` reads the items after `last`
 * (after none: the first), at most `batchSize` of them. The first batch is read before anything is
 * sent, so a failure then is an ordinary error answer; a later one can only cut the answer short.
 */
export async function sendItemsInBatches<T>(
  res: Response,
  options: { batchSize: number; nextBatch: (last: T | null) => Promise<T[]>; toJson: (item: T) => unknown },
): Promise<void> {
  let batch = await options.nextBatch(null);
  res.status(200).type('application/json');
  let first = true;
  await write(res, '{"items":[');
  while (batch.length > 0) {
    // Item by item: one version's text at a time, not a batch's joined into one more copy.
    for (const item of batch) {
      await write(res, first ? JSON.stringify(options.toJson(item)) : `,${JSON.stringify(options.toJson(item))}`);
      first = false;
    }
    // A client gone away reads nothing more: stop reading the database for it.
    if (res.destroyed) return;
    if (batch.length < options.batchSize) break;
    batch = await options.nextBatch(batch[batch.length - 1]);
  }
  res.end(']}');
}

/**
 * Writes and waits while the client is slower than the database, so unsent batches do not pile up.
 * The wait that lost the race is taken off the response (else each wait left a listener on it).
 */
async function write(res: Response, chunk: string): Promise<void> {
  // A client gone already (its 'close' emitted, say while a batch was read) would be waited for without end.
  if (res.write(chunk) || res.destroyed) return;
  const waited = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: waited.signal }), once(res, 'close', { signal: waited.signal })]);
  } finally {
    waited.abort();
  }
}
