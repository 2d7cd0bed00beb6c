import { loadConfigOrExit, orchestratorConfigSchema } from '@anime/config';
import { generationRenderPayloadSchema, QUEUES } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage } from '@anime/media';
import { createStageWorker, installShutdown, JobStore, startWorkerService } from '@anime/pipeline';
import { BackendPool } from './domain/backend-pool';
import { ReferenceStager } from './domain/reference-stager';
import { recoverPendingRenders } from './jobs/recover-renders';
import { createRenderPromptProcessor } from './jobs/render-prompt.processor';

async function main(): Promise<void> {
  const config = loadConfigOrExit(orchestratorConfigSchema, 'orchestrator');
  const log = createLogger('orchestrator', config.LOG_LEVEL);
  const pool = new BackendPool(config.COMFYUI_URLS, log);
  await pool.connect();
  const service = await startWorkerService({
    service: 'orchestrator',
    opsPort: config.ORCHESTRATOR_PORT,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    log,
    recover: recoverPendingRenders,
    recoverEveryMs: config.RECOVERY_SWEEP_MS,
    build: async (ctx) => {
      const stager = new ReferenceStager({ db: ctx.db, storage: new LocalLibraryStorage(config.LIBRARY_DIR), log });
      const handle = createRenderPromptProcessor({ ...ctx, pool, stager, defaultCheckpoint: config.DEFAULT_CHECKPOINT, ipAdapterWeight: config.IPADAPTER_WEIGHT, jobTimeoutMs: config.JOB_TIMEOUT_S * 1000 });
      const worker = createStageWorker({
        queue: QUEUES.generationRenders,
        prefix: config.QUEUE_PREFIX,
        connection: ctx.redis,
        schema: generationRenderPayloadSchema,
        log,
        // Keeps every backend's own queue fed: one in flight per backend plus the prefetch.
        concurrency: config.COMFYUI_URLS.length * (1 + config.BACKEND_PREFETCH),
        maxAttempts: config.JOB_MAX_ATTEMPTS,
        handle: (payload, _job, signal) => handle(payload, signal),
        onGiveUp: async (job, error) => {
          const generationId = (job.data as { generationId?: string }).generationId;
          if (!generationId) return;
          await ctx.events.publishAll([await new JobStore(ctx.db).markFailed(generationId, { code: 'comfyui_unreachable', message: error.message })]);
        },
      });
      return { workers: [worker], stop: () => pool.close() };
    },
  });
  installShutdown(log, service.stop);
}

main().catch((error) => {
  console.error(`orchestrator failed to start: ${(error as Error).message}`);
  process.exit(1);
});
