import type { RequestListener, Server } from 'node:http';
import express from 'express';
import { listenOn, notReadyWaitingFor, notReadyWhileStarting, securityHeaders, type NotReadyReport } from '@anime/pipeline';
import type { EdgeSettings } from './edge/edge-settings';
import { createBoundedServer } from './edge/request-deadlines';
import { requestId } from './request-id';

/** Seconds a client is asked to wait while the gateway starts: PostgreSQL or Redis coming up takes about that. */
const STARTING_RETRY_AFTER_S = 5;

export type StartDependency = 'database' | 'redis';

/** A server already listening, whose requests the gateway takes over (GatewayDeps.server). */
export interface HandOverServer {
  /** The server, made with the gateway's edge settings (createBoundedServer). */
  http: Server;
  /** From now on every request, on the connections already open too, is answered by `listener`. */
  handOver(listener: RequestListener): void;
}

export interface StartingServer extends HandOverServer {
  /** The port listened on (PORT, or the one given for 0), which the gateway takes over. */
  port: number;
  /** Names the dependency the start now waits for (null: none, the rest of the start runs), in `/readyz`'s `failing` and every other answer's error. */
  waitingFor(dependency: StartDependency | null): void;
  /** Stops answering, its connections closed: for a start that fails, so the port is let go. */
  close(): Promise<void>;
}

/**
 * What answers on PORT while the gateway's start waits for PostgreSQL and Redis: `/healthz` 200
 * (the process is alive: a liveness probe must not kill a pod that waits), `/readyz` 503 naming
 * the dependency waited for, and every other request 503 at once with `Retry-After` and that
 * error (`database_unavailable` while PostgreSQL is waited for, else `not_ready`), never held.
 * The server is the gateway's own (its edge settings, its listening socket): the gateway takes its
 * requests over (`handOver`, with Socket.IO's upgrades added then), so the port is never closed and
 * no connection is cut at the switch (a request under way or a keep-alive connection goes on).
 */
export async function listenWhileStarting(target: { port: number; host: string }, edge: EdgeSettings): Promise<StartingServer> {
  let report: NotReadyReport = notReadyWhileStarting('gateway');
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId);
  app.use(securityHeaders());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/readyz', (_req, res) => {
    res.status(503).json(report);
  });
  app.use((_req, res) => {
    res.status(503).set('Retry-After', String(STARTING_RETRY_AFTER_S)).json({ error: report.error });
  });
  let answer: RequestListener = app;
  const server = createBoundedServer((req, res) => answer(req, res), edge);
  await listenOn(server, { ...target, portVariable: 'PORT' });
  return {
    http: server,
    port: (server.address() as { port: number }).port,
    waitingFor: (dependency) => {
      report = dependency ? notReadyWaitingFor('gateway', dependency) : notReadyWhileStarting('gateway');
    },
    handOver: (listener) => {
      answer = listener;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
