import type { Server as HttpServer } from 'node:http';
import express from 'express';
import { Server as SocketServer, type ServerOptions } from 'socket.io';
import type { Redis } from 'ioredis';
import type { WebhookAllowList } from '@anime/config';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { checkReadiness, ESSENTIAL_SECURITY_HEADERS, listenOn, watchQueueDepths, type JobControlPublisher, type JobEventPublisher, type PipelineQueues, type ReadinessChecks } from '@anime/pipeline';
import { apiDocsRoutes } from './http/routes/api-docs';
import { assetRoutes } from './http/routes/assets';
import { backendRoutes } from './http/routes/backends';
import { characterRoutes } from './http/routes/characters';
import { generationRoutes } from './http/routes/generations';
import { queueRoutes } from './http/routes/queues';
import { schemaRoutes } from './http/routes/schemas';
import { workflowRoutes } from './http/routes/workflows';
import { webhookRoutes } from './http/routes/webhooks';
import { knownBackendCapabilities } from './domain/known-capabilities';
import { errorMiddleware, notFoundRoute } from './http/error-middleware';
import { bodyDepthGuard } from './http/body-depth-guard';
import { refuseInvalidUtf8 } from './http/utf8-body';
import { queryGuard } from './http/query-guard';
import { requestId } from './http/request-id';
import { observeRequests } from './http/observe-requests';
import { metricsRoutes } from './http/routes/metrics';
import { QUEUE_BOARD_PATH, queueBoard } from './http/admin/queue-board';
import { authenticate } from './http/auth/authenticate';
import { keyAuthenticator, type AuthMode } from './http/auth/authenticate-key';
import { authorize } from './http/auth/authorize';
import { edgeMiddleware } from './http/edge/edge-middleware';
import { DEFAULT_EDGE_SETTINGS, type EdgeSettings } from './http/edge/edge-settings';
import { OriginPolicy } from './http/edge/origin-policy';
import { createBoundedServer } from './http/edge/request-deadlines';
import { listenHost } from './http/listen-host';
import type { HandOverServer } from './http/starting-server';
import { createGatewayLimits, type GatewayLimitSettings } from './http/limits/gateway-limits';
import { queuePressure } from './http/queue-readiness';
import { keyFinderWithQueueRoom } from './http/limits/queue-room';
import { keyFinderWithGeneration } from './http/routes/generation-pre-read';
import { JobRelay } from './socket/job-relay';
import { engineErrorEnvelope } from './socket/engine-error-envelope';
import { handshakeParser } from './socket/handshake-parser';
import { NO_ALLOW } from './webhooks/target-policy';
import { revalidateSockets } from './socket/revalidate-sockets';
import type { BackendCapabilities } from '@anime/workflows';

const DEFAULT_REFERENCE_MAX_BYTES = 20 * 1024 * 1024;
const DEFAULT_BUNDLE_MAX_BYTES = 200 * 1024 * 1024;
const DEFAULT_BUNDLE_MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024;
const DEFAULT_SOCKET_MAX_SUBSCRIPTIONS = 200;
const DEFAULT_SOCKET_MAX_CONNECTIONS_PER_KEY = 500;
const DEFAULT_IMPORT_CONCURRENCY = 2;
const DEFAULT_REFERENCE_MAX_PIXELS = 40_000_000;
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
  /** IMPORT_CONCURRENCY: the most bundle imports at once (default 2); one more is a 429. */
  importConcurrency?: number;
  /** REFERENCE_MAX_PIXELS: the most pixels an uploaded image may decode to (default 40 MP). */
  referenceMaxPixels?: number;
  /** What each backend offers, for template registration warnings; unknown when absent. */
  backendCapabilities?: () => Promise<BackendCapabilities[]>;
  log: Logger;
  /** What `/readyz` checks, by dependency name (`database`, `redis`). */
  readiness: ReadinessChecks;
  /** Server timeouts, CORS origins and allowed hosts; defaults in DEFAULT_EDGE_SETTINGS. */
  edge?: Partial<EdgeSettings>;
  /** AUTH_MODE (default on): off lets every caller do everything and binds 127.0.0.1 only. */
  authMode?: AuthMode;
  /** SOCKET_MAX_SUBSCRIPTIONS: the most jobs one Socket.IO connection may follow (default 200). */
  socketMaxSubscriptions?: number;
  /** SOCKET_MAX_CONNECTIONS_PER_KEY: the most Socket.IO connections one key may hold to this gateway (default 500). */
  socketMaxConnectionsPerKey?: number;
  /** How often open Socket.IO connections have their key checked again (default 30 s). */
  socketKeyRecheckMs?: number;
  /** WEBHOOK_ALLOW: webhook targets allowed although not public; none when absent. */
  webhookAllow?: WebhookAllowList;
  /** Socket.IO's adapter (the Redis adapter, so gateways share rooms and broadcasts); in-memory when absent. */
  socketAdapter?: ServerOptions['adapter'];
  /** The rate limiters' connection (createLimiterRedis: fails fast rather than queueing commands). */
  limiterRedis: Redis;
  /** RATE_LIMIT_*, MAX_QUEUED_PER_KEY, MAX_QUEUE_DEPTH; the config's defaults for those absent. */
  limits?: Partial<GatewayLimitSettings>;
  /**
   * The server to answer on, already listening and answering the start (starting-server.ts, made
   * with the same `edge`): the gateway answers there from `takeOver` on. A server of its own, made
   * here, when absent.
   */
  server?: HandOverServer;
}

export interface Gateway {
  http: HttpServer;
  /** The Express app (its routes are read by the OpenAPI coverage test). */
  app: express.Express;
  io: SocketServer;
  /** How many jobs the Socket.IO relay holds subscriptions for. */
  followedJobs(): number;
  listen(port: number, host?: string): Promise<number>;
  /**
   * Answers on `deps.server` from now on, the start's answers ended at once: the same listening
   * socket and connections, so no request is refused or cut by the switch. The port.
   */
  takeOver(): number;
  close(): Promise<void>;
}

export async function createGateway(deps: GatewayDeps): Promise<Gateway> {
  const edge: EdgeSettings = { ...DEFAULT_EDGE_SETTINGS, ...deps.edge };
  const origins = new OriginPolicy(edge);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(observeRequests(deps.log));
  // CORS, Origin and Host checks come first: a browser's preflight carries no key.
  app.use(edgeMiddleware(origins));
  const authMode = deps.authMode ?? 'on';
  if (authMode === 'off') deps.log.warn('AUTH_MODE=off: no API key is asked for and every caller may do everything; listening on 127.0.0.1 only');
  const authenticateKey = keyAuthenticator({ db: deps.db, log: deps.log, mode: authMode });
  // The API's description is public, as any OpenAPI document: Swagger UI loads it before a key is given.
  app.use('/api', apiDocsRoutes());
  // Every query parameter is checked once, before anything reads it.
  app.use(queryGuard);
  const limits = createGatewayLimits({ redis: deps.limiterRedis, queuePrefix: deps.queuePrefix, log: deps.log, settings: deps.limits });
  // A new generation's key is read with the queue's room, a generation's GET with the generation.
  const withQueueRoom = keyFinderWithQueueRoom(deps.db, limits.queueRoom);
  const withGeneration = keyFinderWithGeneration(deps.db);
  // Before the body is read: an anonymous request costs no parsing.
  app.use('/api', authenticate(authenticateKey, (req, res) => withQueueRoom(req, res) ?? withGeneration(req, res)));
  // Counted once the key is known (per key, else per client IP), before any body is read.
  app.use('/api', limits.requests);
  app.use('/api', limits.bodies);
  app.use(express.json({ limit: '1mb', verify: refuseInvalidUtf8 }));
  app.use(bodyDepthGuard);
  app.use('/api', authorize);

  app.use(metricsRoutes(authenticateKey));
  app.use(QUEUE_BOARD_PATH, queueBoard({ ...deps, queueRoom: limits.queueRoom, authenticateKey }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/readyz', async (_req, res) => {
    const [report, queue] = await Promise.all([checkReadiness('gateway', deps.readiness, { log: deps.log }), queuePressure(deps.db, limits.queueCaps.maxQueueDepth)]);
    // A full queue is reported, not unready: 200/503 stays about the dependencies.
    res.status(report.status === 'ready' ? 200 : 503).json(queue ? { ...report, queue } : report);
  });
  app.use('/api/v1/generations', generationRoutes({ ...deps, limits }));
  app.use(
    '/api/v1/characters',
    characterRoutes({
      ...deps,
      referenceMaxBytes: deps.referenceMaxBytes ?? DEFAULT_REFERENCE_MAX_BYTES,
      bundleMaxBytes: deps.bundleMaxBytes ?? DEFAULT_BUNDLE_MAX_BYTES,
      bundleMaxUncompressedBytes: deps.bundleMaxUncompressedBytes ?? DEFAULT_BUNDLE_MAX_UNCOMPRESSED_BYTES,
      importConcurrency: deps.importConcurrency ?? DEFAULT_IMPORT_CONCURRENCY,
      referenceMaxPixels: deps.referenceMaxPixels ?? DEFAULT_REFERENCE_MAX_PIXELS,
    }),
  );
  app.use('/api/v1/assets', assetRoutes(deps));
  app.use('/api/v1/workflows', workflowRoutes({ ...deps, backendCapabilities: deps.backendCapabilities ?? (() => knownBackendCapabilities(deps.db)) }));
  app.use('/api/v1/backends', backendRoutes(deps));
  app.use('/api/v1/schemas', schemaRoutes());
  app.use('/api/v1/queues', queueRoutes(deps));
  app.use('/api/v1/webhooks', webhookRoutes({ db: deps.db, allow: deps.webhookAllow ?? NO_ALLOW }));
  app.use(notFoundRoute);
  app.use(errorMiddleware(deps.log));

  const http = deps.server?.http ?? createBoundedServer(app, edge);
  const io = new SocketServer({
    cors: { origin: (origin, done) => done(null, origins.isListed(origin)) },
    allowRequest: (req, done) => {
      const refusal = origins.handshakeRefusal(req);
      done(refusal?.message ?? null, !refusal);
    },
    adapter: deps.socketAdapter,
    // A handshake whose auth is no object is refused with a connect_error, not closed without a word.
    parser: handshakeParser,
  });
  // Socket.IO takes its requests and upgrades on the server once the gateway answers there: at once
  // on a server of its own (not listening yet); at `takeOver` on the start's, in the same tick as
  // the app, so neither answers a request while the other does not.
  const attachSocketIo = () => {
    io.attach(http);
    // Its own HTTP refusals (a refused handshake, an unknown transport or session) in the error envelope.
    io.engine.use(engineErrorEnvelope((req) => origins.handshakeRefusal(req)));
    // Socket.IO writes its HTTP answers itself, past Express and helmet.
    io.engine.on('headers', (headers: Record<string, string>) => Object.assign(headers, ESSENTIAL_SECURITY_HEADERS));
  };
  if (!deps.server) attachSocketIo();
  const relay = new JobRelay({
    io,
    db: deps.db,
    subscriber: deps.subscriber,
    queuePrefix: deps.queuePrefix,
    log: deps.log,
    authenticateKey,
    maxSubscriptions: deps.socketMaxSubscriptions ?? DEFAULT_SOCKET_MAX_SUBSCRIPTIONS,
    maxConnectionsPerKey: deps.socketMaxConnectionsPerKey ?? DEFAULT_SOCKET_MAX_CONNECTIONS_PER_KEY,
  });
  await relay.start();
  const unwatchQueues = watchQueueDepths(deps.queues);
  const stopRevalidating = authMode === 'on' ? revalidateSockets({ io, authenticateKey, log: deps.log, everyMs: deps.socketKeyRecheckMs ?? 30_000 }) : () => undefined;

  return {
    http,
    app,
    io,
    followedJobs: () => relay.followedJobs(),
    listen: async (port, host) => {
      await listenOn(http, { port, host: listenHost(authMode, host), portVariable: 'PORT' });
      return (http.address() as { port: number }).port;
    },
    takeOver: () => {
      if (!deps.server) throw new Error('the gateway was given no server to take over');
      deps.server.handOver(app);
      attachSocketIo();
      return (http.address() as { port: number }).port;
    },
    close: async () => {
      unwatchQueues();
      stopRevalidating();
      relay.stop();
      const cut = setTimeout(() => http.closeAllConnections(), CLOSE_GRACE_MS);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      clearTimeout(cut);
    },
  };
}
