import { characterConfigSchema, loadConfigOrExit } from '@anime/config';
import { generationRequestPayloadSchema, QUEUES } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createStageWorker, installShutdown, startWorkerService } from '@anime/pipeline';
import { createResolveCharacterProcessor } from './jobs/resolve-character.processor';
import { recoverUnresolvedRequests } from './jobs/recover-requests';

async function main(): Promise<void> {
  const config = loadConfigOrExit(characterConfigSchema, 'character');
  const log = createLogger('character', config.LOG_LEVEL);
  const service = await startWorkerService({
    service: 'character',
    opsPort: config.CHARACTER_PORT,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    log,
    recover: recoverUnresolvedRequests,
    recoverEveryMs: config.RECOVERY_SWEEP_MS,
    build: async (ctx) => {
      const handle = createResolveCharacterProcessor(ctx);
      const worker = createStageWorker({
        queue: QUEUES.generationRequests,
        prefix: config.QUEUE_PREFIX,
        connection: ctx.redis,
        schema: generationRequestPayloadSchema,
        log,
        concurrency: 4,
        handle: (payload) => handle(payload),
      });
      return { workers: [worker] };
    },
  });
  installShutdown(log, service.stop);
}

main().catch((error) => {
  console.error(`character service failed to start: ${(error as Error).message}`);
  process.exit(1);
});
