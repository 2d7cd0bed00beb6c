import type { Server } from 'node:http';

/** Where a server listens, and the variables that choose it, for a message that says what to change. */
export interface ListenTarget {
  port: number;
  host: string;
  /** The variable choosing the port (`PORT`, `CHARACTER_PORT`…). */
  portVariable?: string;
  /** The variable choosing the address (`OPS_HOST`), when one does. */
  hostVariable?: string;
}

/**
 * Listens, or rejects with why not, naming the port or host and their variables. Not Express 5's
 * `app.listen`: it calls its callback on failure too, so the failure passed for a start and the
 * next line met `server.address()` null.
 */
export function listenOn(server: Server, target: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(listenFailure(error, target));
    server.once('error', fail);
    server.listen(target.port, target.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** The message keeps the error's code: the supervisor of `pnpm start` recognises a port clash by EADDRINUSE. */
export function listenFailure(error: NodeJS.ErrnoException, target: ListenTarget): Error {
  const portVariable = target.portVariable ?? 'the port';
  const hostVariable = target.hostVariable ?? 'the address';
  const port = `port ${target.port}${target.portVariable ? ` (${target.portVariable})` : ''}`;
  const host = `${target.host}${target.hostVariable ? ` (${target.hostVariable})` : ''}`;
  // A bad address is named by its variable alone, never echoed: a bad value is never repeated (CONTRACT).
  const badHost = target.hostVariable ?? target.host;
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(`${port} on ${host} is already in use (EADDRINUSE): stop what listens there or set ${portVariable} to a free port`);
    case 'EACCES':
      return new Error(`${port} on ${host} needs privileges this process does not have (EACCES): set ${portVariable} to a port above 1023`);
    case 'EADDRNOTAVAIL':
      return new Error(`${badHost} is not an address of this machine (EADDRNOTAVAIL): set ${hostVariable} to one of its addresses, or 0.0.0.0 / :: for all`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new Error(`${badHost} cannot be resolved (${error.code}): set ${hostVariable} to an address or a host name of this machine`);
    default:
      // Any other refusal of the address (EINVAL: a link-local IPv6 without its zone) names it the same way.
      return new Error(`cannot listen on ${badHost}, ${port} (${error.code ?? error.message})`);
  }
}
