import type { KeyRowFinder } from '@anime/api-keys';
import { readRows, type Db } from '@anime/db';
import { queueRoomColumns, type QueueCaps, type QueueRoom } from '../domain/queue-pressure';
import { KEY_COLUMNS, toKeyRow, type KeyColumns } from './find-key-row';

// The key by its hash ($1) with the queue's room for it ($2 MAX_QUEUE_DEPTH, $3 MAX_QUEUED_PER_KEY):
// a new generation's key lookup and queue check in one statement.
const KEY_AND_QUEUE_ROOM = {
  name: 'gateway-key-and-queue-room',
  text: `SELECT ${KEY_COLUMNS}, ${queueRoomColumns('k.id', 'NULL', '$2', '$3')} FROM api_keys k WHERE k."keyHash" = $1`,
};

/**
 * The key lookup of a request that will check the queue's room (POST /generations): the same row
 * as keyRowFinder, and the counts handed to `keep` (with the key's id and hash) when the key exists. Read in the statement that
 * reads the key anyway, so the key is still read on every request (revocation stays immediate).
 */
export function keyAndQueueRoomFinder(db: Db, caps: QueueCaps, keep: (room: QueueRoom, keyId: string, keyHash: string) => void): KeyRowFinder {
  return async (keyHash) => {
    const [row] = await readRows<KeyColumns & QueueRoom>(db, KEY_AND_QUEUE_ROOM, [keyHash, caps.maxQueueDepth, caps.maxQueuedPerKey]);
    if (row && row.keyId !== null) keep({ depth: row.depth, ofKey: row.ofKey }, row.keyId, keyHash);
    return toKeyRow(row);
  };
}
