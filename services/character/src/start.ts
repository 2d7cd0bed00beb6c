import type { CharacterConfig } from '@anime/config';
import { queueSettingsFrom } from '@anime/config';
import type { Logger } from '@anime/logger';
import { startWorkerService, type RunningService } from '@anime/pipeline';
import { createResolveCharacterHandler } from './jobs/resolve-character.processor';

/** The character service: resolves requested generations (`generation-requests`). */
export function startCharacterService(config: CharacterConfig, log: Logger): Promise<RunningService> {
  return startWorkerService({
    service: 'character',
    opsPort: config.CHARACTER_PORT,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    queuePrefix: config.QUEUE_PREFIX,
    queueSettings: queueSettingsFrom(config),
    log,
    recoverEveryMs: config.RECOVERY_SWEEP_MS,
    build: async (ctx) => ({
      handlers: { generationRequests: createResolveCharacterHandler(ctx) },
      concurrency: { generationRequests: 4 },
    }),
  });
}
