import { mkdir } from 'node:fs/promises';
import { fileOrganizerConfigSchema, loadConfigOrExit } from '@anime/config';
import { assetFilingPayloadSchema, QUEUES } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage, removeStalePartials } from '@anime/media';
import { createStageWorker, installShutdown, JobStore, startWorkerService } from '@anime/pipeline';
import { createOutputFetcher } from './domain/fetch-output';
import { createFileOutputsProcessor } from './jobs/file-outputs.processor';
import { recoverPendingFilings } from './jobs/recover-filings';

async function main(): Promise<void> {
  const config = loadConfigOrExit(fileOrganizerConfigSchema, 'file-organizer');
  const log = createLogger('file-organizer', config.LOG_LEVEL);
  await mkdir(config.LIBRARY_DIR, { recursive: true });
  // A write killed between open and rename leaves a temp file nothing else would remove.
  log.info('stale partial library files removed', { count: (await removeStalePartials(config.LIBRARY_DIR)).length });
  const service = await startWorkerService({
    service: 'file-organizer',
    opsPort: config.FILE_ORGANIZER_PORT,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    log,
    recover: recoverPendingFilings,
    recoverEveryMs: config.RECOVERY_SWEEP_MS,
    build: async (ctx) => {
      const handle = createFileOutputsProcessor({ ...ctx, storage: new LocalLibraryStorage(config.LIBRARY_DIR), fetchOutput: createOutputFetcher(log) });
      const worker = createStageWorker({
        queue: QUEUES.assetFiling,
        prefix: config.QUEUE_PREFIX,
        connection: ctx.redis,
        schema: assetFilingPayloadSchema,
        log,
        concurrency: 4,
        handle: (payload) => handle(payload),
        onGiveUp: async (job, error) => {
          const generationId = (job.data as { generationId?: string }).generationId;
          if (!generationId) return;
          await ctx.events.publishAll([await new JobStore(ctx.db).markFailed(generationId, { code: 'filing_failed', message: error.message }, ['running'])]);
        },
      });
      return { workers: [worker] };
    },
  });
  installShutdown(log, service.stop);
}

main().catch((error) => {
  console.error(`file-organizer failed to start: ${(error as Error).message}`);
  process.exit(1);
});
