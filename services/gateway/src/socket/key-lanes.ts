import type { Socket } from 'socket.io';
import { countRateLimitRefusal } from '@anime/pipeline';
import type { Caller } from '../http/auth/caller';
import { SOCKET_CALLER } from './authenticate-socket';

/** One key's `subscribe` and `ops:join` running at once: each reads PostgreSQL (the key, the job's story). */
export const SOCKET_READS_PER_KEY = 2;
/** How many more of one key's may wait their turn; beyond, refused at once (`rate_limited`). */
export const SOCKET_READS_WAITING_PER_KEY = 1_000;

export const SOCKET_BUSY = {
  ok: false,
  error: { code: 'rate_limited', message: `more than ${SOCKET_READS_WAITING_PER_KEY} subscribes of this API key are waiting; send this one once they are answered` },
} as const;

interface Lane {
  running: number;
  waiting: (() => void)[];
}

/**
 * Socket.IO messages are not counted by the request rate limit, and each `subscribe` (or `ops:join`)
 * reads the database: one connection sending them in a loop held every connection of the pool
 * (10), so REST requests of every key waited 45 s and answered 503 `database_unavailable`. Each
 * key gets a lane: SOCKET_READS_PER_KEY at once, the next SOCKET_READS_WAITING_PER_KEY in order,
 * the rest refused without a read.
 */
export class KeyLanes {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly concurrency = SOCKET_READS_PER_KEY,
    private readonly maxWaiting = SOCKET_READS_WAITING_PER_KEY,
  ) {}

  /** Runs `work` in the lane of the socket's key, once its turn comes; null (nothing run) when the lane is full. */
  run<T>(socket: Socket, work: () => Promise<T>): Promise<T> | null {
    const key = (socket.data[SOCKET_CALLER] as Caller | undefined)?.keyId ?? 'local';
    const lane = this.lanes.get(key) ?? { running: 0, waiting: [] };
    if (lane.running >= this.concurrency && lane.waiting.length >= this.maxWaiting) {
      countRateLimitRefusal('socket_reads_waiting');
      return null;
    }
    this.lanes.set(key, lane);
    let turn: Promise<void>;
    if (lane.running < this.concurrency) {
      lane.running++;
      turn = Promise.resolve();
    } else {
      turn = new Promise<void>((resolve) => lane.waiting.push(resolve));
    }
    return turn.then(work).finally(() => {
      // The slot passes to the next waiting, else it is given back.
      const next = lane.waiting.shift();
      if (next) next();
      else if (--lane.running === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
    });
  }
}
