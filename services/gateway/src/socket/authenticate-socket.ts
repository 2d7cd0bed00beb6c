import type { Socket } from 'socket.io';
import type { KeyAuthenticator } from '../http/auth/authenticate-key';
import { isUnreadableAuth } from './handshake-parser';

/** Where a connection keeps its caller and its key (in memory only, never logged). */
export const SOCKET_CALLER = 'caller';
export const SOCKET_TOKEN = 'token';

/**
 * The Socket.IO handshake carries the key (`io(url, { auth: { token } })`). Without a valid one the
 * client gets `connect_error` with the message `unauthenticated` and no connection. A key holding
 * `maxConnectionsPerKey` connections to this gateway already gets `too_many_connections`: each costs
 * memory here and may follow SOCKET_MAX_SUBSCRIPTIONS jobs, so one key must not open them without end.
 * A handshake whose auth is no object (handshakeParser marks it) is refused `unauthenticated` too,
 * saying what the auth must be: no key can be read from it.
 */
export function authenticateSocket(authenticateKey: KeyAuthenticator, maxConnectionsPerKey = Infinity) {
  const connections = new Map<string, number>();
  /** Counts a connection of `keyId` until its transport closes (connected or not: a handshake can fail after this). */
  const hold = (socket: Socket, keyId: string) => {
    // Closed while its key was being checked: its 'close' has been emitted already, and Socket.IO drops it.
    if (socket.conn.readyState === 'closed') return;
    connections.set(keyId, (connections.get(keyId) ?? 0) + 1);
    socket.conn.once('close', () => {
      const left = (connections.get(keyId) ?? 1) - 1;
      if (left > 0) connections.set(keyId, left);
      else connections.delete(keyId);
    });
  };
  return (socket: Socket, next: (error?: Error) => void): void => {
    if (isUnreadableAuth(socket.handshake.auth)) {
      const error = new Error('unauthenticated') as Error & { data?: unknown };
      error.data = { code: 'unauthenticated', message: 'the handshake\'s auth must be an object holding the API key: io(url, { auth: { token: "<API key>" } })' };
      return next(error);
    }
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const presented = typeof token === 'string' ? token : null;
    authenticateKey(presented).then(
      (outcome) => {
        if ('refused' in outcome) {
          const error = new Error('unauthenticated') as Error & { data?: unknown };
          error.data = { code: 'unauthenticated', message: outcome.refused };
          return next(error);
        }
        const { keyId } = outcome.caller;
        // AUTH_MODE=off has no keys: one local caller, on 127.0.0.1 only.
        if (keyId !== null) {
          if ((connections.get(keyId) ?? 0) >= maxConnectionsPerKey) {
            const error = new Error('too_many_connections') as Error & { data?: unknown };
            error.data = {
              code: 'too_many_connections',
              message: `this API key has ${maxConnectionsPerKey} connections open to this gateway, at most ${maxConnectionsPerKey} (SOCKET_MAX_CONNECTIONS_PER_KEY); close one first`,
            };
            return next(error);
          }
          hold(socket, keyId);
        }
        socket.data[SOCKET_CALLER] = outcome.caller;
        socket.data[SOCKET_TOKEN] = presented;
        next();
      },
      () => {
        const error = new Error('unavailable') as Error & { data?: unknown };
        error.data = { code: 'database_unavailable', message: 'could not check the API key; try again shortly' };
        next(error);
      },
    );
  };
}
