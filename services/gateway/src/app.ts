import { createServer, type Server as HttpServer } from 'node:http';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
import type { Redis } from 'ioredis';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { checkReadiness, type JobControlPublisher, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import { assetRoutes } from './http/routes/assets';
import { backendRoutes } from './http/routes/backends';
import { characterRoutes } from './http/routes/characters';
import { generationRoutes } from './http/routes/generations';
import { queueRoutes } from './http/routes/queues';
import { schemaRoutes } from './http/routes/schemas';
import { workflowRoutes } from './http/routes/workflows';
import { knownBackendCapabilities } from './domain/known-capabilities';
import { errorMiddleware, notFoundRoute } from './http/error-middleware';
import { requestId } from './http/request-id';
import { createGatewayLimits, type GatewayLimitSettings } from './http/limits/gateway-limits';
import { queuePressure } from './http/queue-readiness';
import { JobRelay } from './socket/job-relay';
import type { BackendCapabilities } from '@anime/workflows';

const DEFAULT_REFERENCE_MAX_BYTES = 20 * 1024 * 1024;
const DEFAULT_BUNDLE_MAX_BYTES = 200 * 1024 * 1024;
const DEFAULT_BUNDLE_MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024;
// Requests still running at close (a download, an upload) get this long, then are cut: a stop must
// not wait on a slow client.
const CLOSE_GRACE_MS = 2_000;

export interface GatewayDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  /** Tells the orchestrator to stop a generation's run (POST .../cancel). */
  control: JobControlPublisher;
  subscriber: Redis;
  queuePrefix: string;
  libraryDir: string;
  /** REFERENCE_MAX_BYTES: the largest reference image accepted (default 20 MiB). */
  referenceMaxBytes?: number;
  /** BUNDLE_MAX_BYTES: the largest character bundle upload accepted, compressed (default 200 MiB). */
  bundleMaxBytes?: number;
  /** BUNDLE_MAX_UNCOMPRESSED_BYTES: the most a bundle's files may hold once uncompressed (default 500 MiB). */
  bundleMaxUncompressedBytes?: number;
  /** What each backend offers, for template registration warnings; unknown when absent. */
  backendCapabilities?: () => Promise<BackendCapabilities[]>;
  log: Logger;
  isReady: () => Promise<void>;
  /** The rate limiters' connection (createLimiterRedis: fails fast rather than queueing commands). */
  limiterRedis: Redis;
  /** RATE_LIMIT_*, MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH; the config's defaults for those absent. */
  limits?: Partial<GatewayLimitSettings>;
}

export interface Gateway {
  http: HttpServer;
  io: SocketServer;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId);
  const limits = createGatewayLimits({ redis: deps.limiterRedis, queuePrefix: deps.queuePrefix, log: deps.log, settings: deps.limits });
  // Counted before any body is read: a refused request costs no parsing.
  app.use('/api', limits.requests);
  app.use(express.json({ limit: '1mb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/readyz', async (_req, res) => {
    const [problem, queue] = await Promise.all([checkReadiness(deps.isReady), queuePressure(deps.db, limits.queueCaps.maxQueueDepth)]);
    // A full queue is reported, not unready: the gateway still answers everything else.
    const pressure = queue ? { queue } : {};
    if (problem) res.status(503).json({ error: problem, ...pressure });
    else res.json({ status: 'ready', service: 'gateway', ...pressure });
  });
  app.use('/api/v1/generations', generationRoutes({ ...deps, limits }));
  app.use(
    '/api/v1/characters',
    characterRoutes({
      ...deps,
      referenceMaxBytes: deps.referenceMaxBytes ?? DEFAULT_REFERENCE_MAX_BYTES,
      bundleMaxBytes: deps.bundleMaxBytes ?? DEFAULT_BUNDLE_MAX_BYTES,
      bundleMaxUncompressedBytes: deps.bundleMaxUncompressedBytes ?? DEFAULT_BUNDLE_MAX_UNCOMPRESSED_BYTES,
    }),
  );
  app.use('/api/v1/assets', assetRoutes(deps));
  app.use('/api/v1/workflows', workflowRoutes({ ...deps, backendCapabilities: deps.backendCapabilities ?? (() => knownBackendCapabilities(deps.db)) }));
  app.use('/api/v1/backends', backendRoutes(deps));
  app.use('/api/v1/schemas', schemaRoutes());
  app.use('/api/v1/queues', queueRoutes(deps));
  app.use(notFoundRoute);
  app.use(errorMiddleware(deps.log));

  const http = createServer(app);
  const io = new SocketServer(http, { cors: { origin: true } });
  await new JobRelay({ io, db: deps.db, subscriber: deps.subscriber, queuePrefix: deps.queuePrefix, log: deps.log }).start();

  return {
    http,
    io,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => resolve((http.address() as { port: number }).port));
      }),
    close: async () => {
      const cut = setTimeout(() => http.closeAllConnections(), CLOSE_GRACE_MS);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      clearTimeout(cut);
    },
  };
}
