import type { Socket } from 'socket.io';
import type { Logger } from '@anime/logger';
import { slowConsumerDisconnects } from '@anime/pipeline';

/**
 * The most packets a connection may have waiting to be written. Engine.IO queues a connection's
 * packets while its last write has not reached the kernel, without bound: a client that stops reading
 * (and keeps sending `subscribe`/`unsubscribe`, each replaying a job's story) held 850 MB of the
 * gateway within 20 s, until the ping timeout 45 s later. A client that reads gets a subscribe's
 * replay in one burst, queued behind the write in flight: up to a story's 1,000 events (the
 * pipeline's MAX_GENERATION_EVENTS), its tick and the ack, and a key's two subscribes read at once
 * (KeyLanes) may land together; at 1,000 such a client was cut on every subscribe to a long story.
 * One that is this far behind is disconnected and may reconnect and subscribe again.
 */
export const MAX_UNSENT_PACKETS = 2_500;

/** Disconnects `socket` (dropping what it has not taken) once MAX_UNSENT_PACKETS wait to be written to it; counts it in anime_socket_slow_consumer_disconnects_total. */
export function limitUnsentPackets(socket: Socket, log: Logger, max = MAX_UNSENT_PACKETS): void {
  const conn = socket.conn;
  // Engine.IO's write buffer, counted: each packet is created into it, and a flush hands all of it to the transport.
  let unsent = 0;
  const onFlush = () => {
    unsent = 0;
  };
  const onPacket = () => {
    if (++unsent < max) return;
    conn.off('packetCreate', onPacket);
    conn.off('flush', onFlush);
    log.warn('socket disconnected: it does not read what it is sent', { socketId: socket.id, unsentPackets: unsent });
    slowConsumerDisconnects.inc();
    socket.disconnect(true);
    // Discarded rather than flushed first: closing waits for a drain that never comes, and a websocket's
    // closing handshake for an answer that never comes (30 s, which a gateway's stop waited out too).
    conn.close(true);
    if (conn.transport.name === 'websocket') conn.request.socket.destroy();
  };
  conn.on('packetCreate', onPacket);
  conn.on('flush', onFlush);
}
