import type { Socket } from 'socket.io';
import type { KeyAuthenticator } from '../http/auth/authenticate-key';

/** Where a connection keeps its caller and its key (in memory only, never logged). */
export const SOCKET_CALLER = 'caller';
export const SOCKET_TOKEN = 'token';

/**
 * The Socket.IO handshake carries the key (`io(url, { auth: { token } })`). Without a valid one the
 * client gets `connect_error` with the message `unauthenticated` and no connection.
 */
export function authenticateSocket(authenticateKey: KeyAuthenticator) {
  return (socket: Socket, next: (error?: Error) => void): void => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const presented = typeof token === 'string' ? token : null;
    authenticateKey(presented).then(
      (outcome) => {
        if ('refused' in outcome) {
          const error = new Error('unauthenticated') as Error & { data?: unknown };
          error.data = { code: 'unauthenticated', message: outcome.refused };
          return next(error);
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
