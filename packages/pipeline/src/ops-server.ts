import { createServer } from 'node:http';
import express from 'express';
import { Registry } from 'prom-client';
import type { Logger } from '@anime/logger';
import { listenOn } from './listen-on';
import { checkReadiness, notReadyWhileStarting, type ReadinessChecks } from './readiness';
import { securityHeaders } from './security-headers';
import { metricsText } from './metrics/metrics-text';
import { collectProcessMetrics } from './metrics/process-metrics';

export interface OpsServer {
  registry: Registry;
  setReady(ready: boolean): void;
  port(): number;
  /** The address the server listens on (OPS_HOST). */
  host(): string;
  close(): Promise<void>;
}

export interface OpsServerOptions {
  service: string;
  port: number;
  /** OPS_HOST: loopback unless the operator opens it (containers set 0.0.0.0 for their probes). */
  host?: string;
  /** The variable choosing `port` (`CHARACTER_PORT`…), named when the port cannot be listened on. */
  portVariable?: string;
  checks?: ReadinessChecks;
  log?: Logger;
}

/** `/healthz` (alive), `/readyz` (dependencies answer, not shutting down) and `/metrics`. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const registry = new Registry();
  collectProcessMetrics(registry, options.service);
  let ready = false;
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: options.service });
  });
  app.get('/readyz', async (_req, res) => {
    // Not ready (starting or stopping): the dependencies that do not answer are still named, so a
    // start that waits for PostgreSQL or Redis says which.
    const checked = await checkReadiness(options.service, options.checks ?? {}, { log: options.log });
    const report = ready || checked.status !== 'ready' ? checked : notReadyWhileStarting(options.service);
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await metricsText(registry);
    res.type(contentType).send(body);
  });
  app.use((req, res) => {
    res.status(404).json({ error: { code: 'route_not_found', message: `no route for ${req.method} ${req.path}` } });
  });
  const server = createServer(app);
  await listenOn(server, { port: options.port, host: options.host ?? '127.0.0.1', portVariable: options.portVariable, hostVariable: 'OPS_HOST' });
  const address = server.address() as { port: number; address: string };
  return {
    registry,
    setReady: (value) => {
      ready = value;
    },
    port: () => address.port,
    host: () => address.address,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A probe or scrape in progress must not hold the stop; nothing here is worth waiting for.
        server.closeAllConnections();
      }),
  };
}
