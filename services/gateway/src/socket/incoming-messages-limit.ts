import type { Socket } from 'socket.io';
import { countRateLimitRefusal } from '@anime/pipeline';

/**
 * Messages one connection may send a second (`subscribe`, `unsubscribe`, `ops:join`), and how many
 * at once after a pause. Socket.IO messages are not counted by the REST rate limit: one connection
 * sending them in a loop (about 100,000 a second) took the gateway's CPU, and other keys' requests
 * waited seconds. A dashboard subscribing to its SOCKET_MAX_SUBSCRIPTIONS jobs at once, or a client
 * following a few hundred jobs a second, stays far below.
 */
export const SOCKET_MESSAGES_PER_S = 1_000;
export const SOCKET_MESSAGE_BURST = 2_000;

export const SOCKET_SLOW_DOWN = {
  ok: false,
  error: { code: 'rate_limited', message: `more than ${SOCKET_MESSAGES_PER_S} messages a second on this connection: this one was dropped; send it again more slowly` },
} as const;

/**
 * A token bucket per connection, checked before any handler: a message over the rate is dropped
 * unread, answered SOCKET_SLOW_DOWN when it asked for an answer (an ack).
 */
export function limitIncomingMessages(socket: Socket, perSecond = SOCKET_MESSAGES_PER_S, burst = SOCKET_MESSAGE_BURST): void {
  let tokens = burst;
  let last = performance.now();
  socket.use((packet, next) => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - last) / 1_000) * perSecond);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return next();
    }
    countRateLimitRefusal('socket_messages');
    const ack = packet[packet.length - 1];
    if (typeof ack === 'function') ack(SOCKET_SLOW_DOWN);
  });
}
