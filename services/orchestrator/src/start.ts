import { type OrchestratorConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import { LocalLibraryStorage } from '@anime/media';
import { createRedis, sharedServiceOptions, startWorkerService, type RunningService } from '@anime/pipeline';
import { BackendPool } from './domain/backend-pool';
import { watchBackendMetrics } from './domain/backend-metrics';
import { listenForBackendChanges } from './domain/backends/backend-change-notices';
import { RedisClientIdLeases } from './domain/backends/client-id-leases';
import { SharedHandBacks } from './domain/backends/shared-hand-backs';
import { ReferenceStager } from './domain/reference-stager';
import { CancelRequests } from './jobs/cancel-requests';
import { createRenderPromptHandler } from './jobs/render-prompt.processor';

/**
 * Waits the orchestrator keeps to itself (no variable sets them): the tests shorten them, so a case
 * that waits one out does not take the production length. Unset, each keeps its default.
 */
export interface OrchestratorTimings {
  /** How long a prompt that is stopped (cancel, JOB_TIMEOUT_S, an abandoned one) is given to leave its backend (DEFAULT_STOP_GRACE_MS, 15 s). */
  stopGraceMs?: number;
  /** How often every backend is probed and the drain flags read (2 s). */
  probeEveryMs?: number;
  /** How often at most a backend's /object_info is read again for what routing asks (CAPABILITIES_RECHECK_MS, 5 s). */
  capabilitiesRecheckMs?: number;
}

/** The orchestrator: drives ComfyUI backends for resolved generations (`generation-renders`). */
export async function startOrchestrator(config: OrchestratorConfig, log: Logger, timings: OrchestratorTimings = {}): Promise<RunningService> {
  let pool: BackendPool | undefined;
  return startWorkerService({
    service: 'orchestrator',
    opsPort: config.ORCHESTRATOR_PORT,
    ...sharedServiceOptions(config),
    log,
    // Not ready while no backend is up: nothing could be rendered.
    readiness: { comfyui: async () => pool?.assertAnyUp() },
    build: async (ctx) => {
      // The render jobs any orchestrator handed back, in line per backend: a place coming free here promotes them.
      const shared = new SharedHandBacks({ redis: ctx.redis, queue: ctx.queues.byKey.generationRenders, queuePrefix: ctx.queuePrefix, urls: config.COMFYUI_URLS });
      pool = new BackendPool({ urls: config.COMFYUI_URLS, db: ctx.db, log, prefetch: config.BACKEND_PREFETCH, defaultCheckpoint: config.DEFAULT_CHECKPOINT, shared, probeEveryMs: timings.probeEveryMs, stopGraceMs: timings.stopGraceMs, capabilitiesRecheckMs: timings.capabilitiesRecheckMs, unreachableGraceMs: config.BACKEND_UNREACHABLE_GRACE_S * 1000 });
      await pool.start();
      const activePool = pool;
      const unwatchBackends = watchBackendMetrics(activePool);
      const stopBackendNotices = await listenForBackendChanges({
        subscriber: createRedis(config.REDIS_URL, 'subscriber', log),
        queuePrefix: ctx.queuePrefix,
        log,
        onChange: () => void activePool.refreshDrain().catch((error) => log.warn('could not read the drain flags', { error: (error as Error).message })),
      });
      const stager = new ReferenceStager({ db: ctx.db, storage: new LocalLibraryStorage(config.LIBRARY_DIR), log, sessionOf: (url) => activePool.sessionOf(url) });
      // Before any prompt is posted under the sockets' ids: no other process may listen under them while we live.
      const clientIdLeases = new RedisClientIdLeases({ redis: ctx.redis, queuePrefix: ctx.queuePrefix, log, ownIds: () => activePool.clientIds() });
      await clientIdLeases.start();
      const cancels = new CancelRequests({ db: ctx.db, subscriber: createRedis(config.REDIS_URL, 'subscriber', log), queuePrefix: ctx.queuePrefix, log });
      await cancels.start();
      const render = createRenderPromptHandler({
        ...ctx,
        pool,
        stager,
        defaultCheckpoint: config.DEFAULT_CHECKPOINT,
        ipAdapterWeight: config.IPADAPTER_WEIGHT,
        jobTimeoutMs: config.JOB_TIMEOUT_S * 1000,
        stopGraceMs: timings.stopGraceMs,
        cancels,
        clientIdLeases,
      });
      return {
        handlers: { generationRenders: render },
        // Keeps every usable backend's own queue fed: one in flight per backend plus the prefetch, and
        // takes no more (a backend down or draining lends its share to no one: priority keeps holding).
        concurrency: { generationRenders: activePool.renderConcurrency },
        stop: async () => {
          unwatchBackends();
          await stopBackendNotices();
          await cancels.stop();
          await activePool.close();
          // After the sockets closed: a restarted process then hears our prompts at once.
          await clientIdLeases.stop();
        },
      };
    },
  });
}
