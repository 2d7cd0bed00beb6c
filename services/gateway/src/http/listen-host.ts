import type { AuthMode } from './auth/authenticate-key';

/** Where the gateway listens: without keys (AUTH_MODE=off) on 127.0.0.1 only, whatever it was asked, so it is not reachable from the network. */
export const listenHost = (authMode: AuthMode, host = '0.0.0.0'): string => (authMode === 'off' ? '127.0.0.1' : host);
