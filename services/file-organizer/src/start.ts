import { type FileOrganizerConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import { LocalLibraryStorage, removeStalePartials } from '@anime/media';
import { prepareLibraryDir, sharedServiceOptions, startWorkerService, type RunningService } from '@anime/pipeline';
import { createOutputFetcher } from './domain/fetch-output';
import { createFileOutputsHandler } from './jobs/file-outputs.processor';

/** The file-organizer: files rendered outputs into the library (`asset-filing`). */
export async function startFileOrganizer(config: FileOrganizerConfig, log: Logger): Promise<RunningService> {
  await prepareLibraryDir(config.LIBRARY_DIR);
  // A write killed between open and rename leaves a temp file nothing else would remove.
  log.info('stale partial library files removed', { count: (await removeStalePartials(config.LIBRARY_DIR)).length });
  return startWorkerService({
    service: 'file-organizer',
    opsPort: config.FILE_ORGANIZER_PORT,
    ...sharedServiceOptions(config),
    log,
    build: async (ctx) => {
      const fetchOutput = createOutputFetcher(log);
      return {
        handlers: { assetFiling: createFileOutputsHandler({ ...ctx, storage: new LocalLibraryStorage(config.LIBRARY_DIR), fetchOutput, backendWait: { limitMs: config.JOB_TIMEOUT_S * 1000 } }) },
        concurrency: { assetFiling: 4 },
        stop: async () => fetchOutput.close(),
      };
    },
  });
}
