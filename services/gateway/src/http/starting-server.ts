import { createServer } from 'node:http';
import express from 'express';
import { listenOn, notReadyWaitingFor, notReadyWhileStarting, securityHeaders, type NotReadyReport } from '@anime/pipeline';
import { requestId } from './request-id';

/** Seconds a client is asked to wait while the gateway starts: PostgreSQL or Redis coming up takes about that. */
const STARTING_RETRY_AFTER_S = 5;

export type StartDependency = 'database' | 'redis';

export interface StartingServer {
  /** The port listened on (PORT, or the one given for 0), which the gateway takes over. */
  port: number;
  /** Names the dependency the start now waits for (null: none, the rest of the start runs), in `/readyz`'s `failing` and every other answer's error. */
  waitingFor(dependency: StartDependency | null): void;
  /** Stops answering, its connections closed, so the gateway can listen on the port. */
  close(): Promise<void>;
}

/**
 * What answers on PORT while the gateway's start waits for PostgreSQL and Redis: `/healthz` 200
 * (the process is alive: a liveness probe must not kill a pod that waits), `/readyz` 503 naming
 * the dependency waited for, and every other request 503 at once with `Retry-After` and that
 * error (`database_unavailable` while PostgreSQL is waited for, else `not_ready`), never held.
 * Each answer closes its connection: none is left to be cut when the gateway takes the port over.
 */
export async function listenWhileStarting(target: { port: number; host: string }): Promise<StartingServer> {
  let report: NotReadyReport = notReadyWhileStarting('gateway');
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId);
  app.use(securityHeaders());
  app.use((_req, res, next) => {
    res.setHeader('Connection', 'close');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(503).json(report);
  });
  app.use((_req, res) => {
    res.status(503).set('Retry-After', String(STARTING_RETRY_AFTER_S)).json({ error: report.error });
  });
  const server = createServer(app);
  await listenOn(server, { ...target, portVariable: 'PORT' });
  return {
    port: (server.address() as { port: number }).port,
    waitingFor: (dependency) => {
      report = dependency ? notReadyWaitingFor('gateway', dependency) : notReadyWhileStarting('gateway');
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
