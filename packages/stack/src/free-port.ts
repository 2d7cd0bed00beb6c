import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The lowest port handed out to a child when the kernel's ephemeral range cannot be read. */
const LOWEST = 10_000;
/** Ports tried below the ephemeral range before asking the kernel for one. */
const TRIES = 50;

/**
 * A TCP port that was free a moment ago, for a child process to listen on.
 *
 * Picked at random below the kernel's ephemeral range (ip_local_port_range, 32768–60999 on Linux),
 * and checked by listening on it: a port the kernel picked (`listen(0)`) lies inside that range,
 * where every outgoing connection of the machine (to PostgreSQL, Redis, a simulator) also takes its
 * local port, so one could take it before the child listened (a CI run saw `ORCHESTRATOR_PORT` in
 * use). Below the range only an explicit listen can take it.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  if (below !== null && below > LOWEST) {
    for (let i = 0; i < TRIES; i++) {
      const port = LOWEST + Math.floor(Math.random() * (below - LOWEST));
      if (await listensOn(port)) return port;
    }
  }
  return kernelPort();
}

/** The first port of the kernel's ephemeral range; null where it cannot be read (not Linux). */
function ephemeralRangeStart(): number | null {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : null;
  } catch {
    return null;
  }
}

/** Whether listening on 127.0.0.1:`port` works (then it is closed again). */
function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the kernel picks (inside its ephemeral range). */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
