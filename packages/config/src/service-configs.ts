import { z } from 'zod';
import { gatewayEdgeEnv } from './edge-fields';
import { comfyUrls, libraryDir, port, positiveInt, sharedEnv } from './env-fields';
import { gatewayLimitsEnv } from './gateway-limits-env';

/** How many days webhook delivery attempts and finished webhook messages are kept unless WEBHOOK_LOG_RETENTION_DAYS says otherwise. */
export const WEBHOOK_LOG_RETENTION_DEFAULT_DAYS = 30;

export const gatewayConfigSchema = z.object({
  ...sharedEnv,
  PORT: port(8080),
  LIBRARY_DIR: libraryDir,
  REFERENCE_MAX_BYTES: positiveInt(20 * 1024 * 1024),
  BUNDLE_MAX_BYTES: positiveInt(200 * 1024 * 1024),
  BUNDLE_MAX_UNCOMPRESSED_BYTES: positiveInt(500 * 1024 * 1024),
  /** `off` must be chosen explicitly: no API keys, and the gateway then listens on 127.0.0.1 only. */
  AUTH_MODE: z.enum(['on', 'off']).default('on'),
  SOCKET_MAX_SUBSCRIPTIONS: positiveInt(200),
  /** Socket.IO connections one API key may hold to one gateway; one more gets connect_error too_many_connections. */
  SOCKET_MAX_CONNECTIONS_PER_KEY: positiveInt(500),
  ...gatewayEdgeEnv,
  /** The most bundle imports running at once; one more is answered 429 with Retry-After. */
  IMPORT_CONCURRENCY: positiveInt(2),
  /** The most pixels an uploaded image (reference, bundle reference) may decode to; more is 413. */
  REFERENCE_MAX_PIXELS: positiveInt(40_000_000),
  ...gatewayLimitsEnv,
  /**
   * Days the webhook delivery log (GET /webhooks/:id/deliveries) and finished webhook messages are
   * kept: the gateway's sweep deletes older ones. A message still owed is kept whatever its age.
   */
  WEBHOOK_LOG_RETENTION_DAYS: z.coerce.number().int().min(1, 'must be at least 1 (day)').max(3650, 'must be at most 3650 (10 years)').default(WEBHOOK_LOG_RETENTION_DEFAULT_DAYS),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const characterConfigSchema = z.object({
  ...sharedEnv,
  CHARACTER_PORT: port(8081),
});
export type CharacterConfig = z.infer<typeof characterConfigSchema>;

/**
 * The longest JOB_TIMEOUT_S, 7 days: the orchestrator waits it out with timers, and Node's take at
 * most 2^31-1 ms (about 24.8 days); a longer delay fires at once and every render would time out.
 */
export const JOB_TIMEOUT_MAX_S = 7 * 24 * 3600;
const jobTimeoutS = z.coerce.number().int().positive().max(JOB_TIMEOUT_MAX_S, `must be at most ${JOB_TIMEOUT_MAX_S} (7 days)`).default(600);

export const orchestratorConfigSchema = z.object({
  ...sharedEnv,
  ORCHESTRATOR_PORT: port(8082),
  COMFYUI_URLS: comfyUrls.refine((urls) => urls.length > 0, 'must list at least one ComfyUI base URL'),
  LIBRARY_DIR: libraryDir,
  DEFAULT_CHECKPOINT: z.string().min(1).optional(),
  /** How long a prompt may take from submission before it is interrupted and the job fails with `timeout`. */
  JOB_TIMEOUT_S: jobTimeoutS,
  /** Prompts waiting in each backend's own queue besides the running one; 0: one prompt per backend at a time. */
  BACKEND_PREFETCH: z.coerce.number().int().min(0).default(1),
  /**
   * How long a backend whose models are unknown may fail to answer (never since the orchestrator
   * started, or since its failing began) before it is given up on: until then a job that only it may
   * be able to run waits for it (a ComfyUI slower to start than its peers); after, it fails with
   * `no_capable_backend` naming it. 0 gives up at its first failed probe.
   */
  BACKEND_UNREACHABLE_GRACE_S: z.coerce.number().int().min(0).max(JOB_TIMEOUT_MAX_S, `must be at most ${JOB_TIMEOUT_MAX_S} (7 days)`).default(60),
  /** How strongly a face reference steers the model on backends with IP-Adapter; 0 never uses it. */
  IPADAPTER_WEIGHT: z.coerce.number().min(0).max(3).default(0.7),
});
export type OrchestratorConfig = z.infer<typeof orchestratorConfigSchema>;

export const fileOrganizerConfigSchema = z.object({
  ...sharedEnv,
  FILE_ORGANIZER_PORT: port(8083),
  LIBRARY_DIR: libraryDir,
  /**
   * How long filing waits, without spending its tries, for the backend holding a job's outputs to
   * come back, counted from when the outputs were recorded (the filing job was queued): as long as a
   * render waits for a backend.
   */
  JOB_TIMEOUT_S: jobTimeoutS,
});
export type FileOrganizerConfig = z.infer<typeof fileOrganizerConfigSchema>;
