import type { CharacterConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import { sharedServiceOptions, startWorkerService, type RunningService } from '@anime/pipeline';
import { createResolveCharacterHandler } from './jobs/resolve-character.processor';

/** The character service: resolves requested generations (`generation-requests`). */
export function startCharacterService(config: CharacterConfig, log: Logger): Promise<RunningService> {
  return startWorkerService({
    service: 'character',
    opsPort: config.CHARACTER_PORT,
    ...sharedServiceOptions(config),
    log,
    build: async (ctx) => ({
      handlers: { generationRequests: createResolveCharacterHandler(ctx) },
      concurrency: { generationRequests: 4 },
    }),
  });
}
