import { createServer } from 'node:net';

export interface NamedPort {
  variable: string;
  value: string | undefined;
}

function inUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(true) : reject(error)));
    // The services bind every interface, so that is what must be free.
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(false)));
  });
}

/**
 * Checks, before anything starts, that each port is a number, given once and free, so a clash is
 * one clear line naming the port and its variable rather than a service's stack trace.
 * Resolves to the problem, or null when every port can be used.
 */
export async function portProblem(ports: NamedPort[]): Promise<string | null> {
  const seen = new Map<number, string>();
  for (const { variable, value } of ports) {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `${variable} must be a port number (1-65535)`;
    const other = seen.get(port);
    if (other) return `${other} and ${variable} are both ${port}: give each its own port`;
    seen.set(port, variable);
    if (await inUse(port)) return `port ${port} (${variable}) is already in use: stop what listens there or set ${variable} to a free port`;
  }
  return null;
}
