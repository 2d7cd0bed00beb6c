import type { Server } from 'node:http';
import express from 'express';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { checkReadiness } from './readiness';

export interface OpsServer {
  registry: Registry;
  setReady(ready: boolean): void;
  port(): number;
  close(): Promise<void>;
}

/** `/healthz` (alive), `/readyz` (dependencies answer, not shutting down) and `/metrics`. */
export async function startOpsServer(options: { service: string; port: number; host?: string; checks?: () => Promise<void> }): Promise<OpsServer> {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  let ready = false;
  const app = express();
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: options.service });
  });
  app.get('/readyz', async (_req, res) => {
    const problem = ready ? await checkReadiness(options.checks) : { code: 'not_ready', message: 'starting or stopping' };
    if (problem) res.status(503).json({ error: problem });
    else res.json({ status: 'ready', service: options.service });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port, options.host ?? '0.0.0.0', () => resolve(s));
    s.on('error', reject);
  });
  return {
    registry,
    setReady: (value) => {
      ready = value;
    },
    port: () => (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A probe or scrape in progress must not hold the stop; nothing here is worth waiting for.
        server.closeAllConnections();
      }),
  };
}
