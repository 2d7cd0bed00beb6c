import { once } from 'node:events';
import type { Response } from 'express';

/**
 * A page of a list (`limit` items at most) and how to name where it ends: the answer becomes
 * `{ "items", "nextCursor" }`, `nextCursor` being `cursorOf` the last item sent when more follow,
 * else null.
 */
export interface ItemPage<T> {
  limit: number;
  cursorOf: (item: T) => string;
}

/**
 * Answers `{ "items": [...] }` with the items of a list whose items may be large (a character's
 * versions), read and written a batch at a time: what the gateway holds is one batch, not the list
 * (200 versions of ~700 KB once made a 950 MiB peak). `nextBatch(last, take)` reads at most `take`
 * items after `last` (after none: the first). With `page`, at most `page.limit` items are sent and
 * the answer is `{ "items", "nextCursor" }`: the batch that reaches the limit is read one item
 * longer, so that whether more follow is known without another statement or a count. The first
 * batch is read before anything is sent, so a failure then is an ordinary error answer; a later one
 * can only cut the answer short.
 */
export async function sendItemsInBatches<T>(
  res: Response,
  options: { batchSize: number; nextBatch: (last: T | null, take: number) => Promise<T[]>; toJson: (item: T) => unknown; page?: ItemPage<T> },
): Promise<void> {
  const limit = options.page?.limit ?? Infinity;
  // Up to the limit a batch at a time; the batch holding the limit's last item asks for one more.
  const takeAfter = (sent: number) => (limit - sent <= options.batchSize ? limit - sent + 1 : options.batchSize);
  let take = takeAfter(0);
  let batch = await options.nextBatch(null, take);
  res.status(200).type('application/json');
  let sent = 0;
  let nextCursor: string | null = null;
  await write(res, '{"items":[');
  for (;;) {
    const items = batch.slice(0, limit - sent);
    // Item by item: one version's text at a time, not a batch's joined into one more copy.
    for (const item of items) {
      await write(res, sent === 0 ? JSON.stringify(options.toJson(item)) : `,${JSON.stringify(options.toJson(item))}`);
      sent += 1;
    }
    // A client gone away reads nothing more: stop reading the database for it.
    if (res.destroyed) return;
    if (batch.length > items.length) {
      nextCursor = options.page!.cursorOf(items[items.length - 1]);
      break;
    }
    if (batch.length < take) break;
    take = takeAfter(sent);
    batch = await options.nextBatch(items[items.length - 1], take);
  }
  res.end(options.page ? `],"nextCursor":${JSON.stringify(nextCursor)}}` : ']}');
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
