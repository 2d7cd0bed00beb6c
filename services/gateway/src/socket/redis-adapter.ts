import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';

/** The Redis key (pub/sub channel prefix) gateways sharing `QUEUE_PREFIX` meet under. */
export const socketAdapterKey = (queuePrefix: string) => `${queuePrefix}:socket.io`;

export interface SocketAdapter {
  /** Pass as Socket.IO's `adapter` option. */
  adapter: ReturnType<typeof createAdapter>;
  close(): void;
}

/**
 * Socket.IO's Redis adapter: io-wide broadcasts, room joins and `fetchSockets()` reach the sockets
 * of every gateway on the same Redis and `QUEUE_PREFIX`. It needs two connections of its own (one
 * of them stays in subscriber mode). Job events do not go through it: each gateway relays them from
 * the job-events channel to its own sockets (JobRelay), which keeps per-socket seq order and replay.
 */
export function createSocketAdapter(redisUrl: string, queuePrefix: string, log?: Logger): SocketAdapter {
  const pub = createRedis(redisUrl, 'subscriber', log);
  const sub = createRedis(redisUrl, 'subscriber', log);
  return {
    adapter: createAdapter(pub, sub, { key: socketAdapterKey(queuePrefix) }),
    close: () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
