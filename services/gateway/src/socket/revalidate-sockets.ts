import type { Server } from 'socket.io';
import type { Logger } from '@anime/logger';
import type { KeyAuthenticator } from '../http/auth/authenticate-key';
import { SOCKET_TOKEN } from './authenticate-socket';

/**
 * A connection outlives the request that opened it: every `everyMs` the keys of the open
 * connections are checked again (once per distinct key), and the connections of a key revoked or
 * expired since its handshake are closed, so it stops hearing about jobs it already followed.
 * Returns a stop function.
 */
export function revalidateSockets(deps: { io: Server; authenticateKey: KeyAuthenticator; log: Logger; everyMs: number }): () => void {
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      const byToken = new Map<string, string[]>();
      for (const [id, socket] of deps.io.of('/').sockets) {
        const token = socket.data[SOCKET_TOKEN] as string | null | undefined;
        if (token) byToken.set(token, [...(byToken.get(token) ?? []), id]);
      }
      for (const [token, ids] of byToken) {
        const outcome = await deps.authenticateKey(token);
        if (!('refused' in outcome)) continue;
        for (const id of ids) deps.io.of('/').sockets.get(id)?.disconnect(true);
        deps.log.info('closed Socket.IO connections of a key no longer valid', { connections: ids.length });
      }
    } catch (error) {
      // The database away: try again next round rather than close everything.
      deps.log.warn('could not re-check Socket.IO keys', { error: (error as Error).message });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), deps.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
