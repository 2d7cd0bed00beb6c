import { type FileOrganizerConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import { LocalLibraryStorage, sweepStalePartialsInBackground, type LocalLibraryStorageOptions, type StalePartialSweepOptions } from '@anime/media';
import { prepareLibraryDir, sharedServiceOptions, startWorkerService, type RunningService } from '@anime/pipeline';
import { createOutputFetcher } from './domain/fetch-output';
import { createFileOutputsHandler } from './jobs/file-outputs.processor';

export interface FileOrganizerOptions {
  /** The background sweeps of stale temp files (tests hold them with `beforeRemove`, space them with `intervalMs`). */
  partialSweep?: StalePartialSweepOptions;
  /** The longest time between two looks of a filing that waits for its backend or the library (default 15 s; tests shorten it). */
  waitStepMs?: number;
  /** How long a filing job put back while PostgreSQL is away waits before it runs again (default 5 s; tests shorten it). */
  databaseRetryDelayMs?: number;
  /** How the library's writes are bounded and made (tests shorten the bound and hold the threads, as a hung mount would). */
  library?: LocalLibraryStorageOptions;
}

/** The file-organizer: files rendered outputs into the library (`asset-filing`). */
export async function startFileOrganizer(config: FileOrganizerConfig, log: Logger, options: FileOrganizerOptions = {}): Promise<RunningService> {
  await prepareLibraryDir(config.LIBRARY_DIR);
  const service = await startWorkerService({
    service: 'file-organizer',
    opsPort: config.FILE_ORGANIZER_PORT,
    ...sharedServiceOptions(config),
    databaseRetryDelayMs: options.databaseRetryDelayMs,
    log,
    build: async (ctx) => {
      const fetchOutput = createOutputFetcher(log);
      return {
        handlers: { assetFiling: createFileOutputsHandler({ ...ctx, storage: new LocalLibraryStorage(config.LIBRARY_DIR, options.library), fetchOutput, backendWait: { limitMs: config.JOB_TIMEOUT_S * 1000, ...(options.waitStepMs ? { maxStepMs: options.waitStepMs } : {}) } }) },
        concurrency: { assetFiling: 4 },
        stop: async () => fetchOutput.close(),
      };
    },
  });
  // Once ready (a walk of a library of millions of files must not hold the start), then hourly.
  const partials = sweepStalePartialsInBackground(config.LIBRARY_DIR, log, options.partialSweep);
  return {
    ...service,
    stop: async () => {
      await Promise.all([partials.stop(), service.stop()]);
    },
  };
}
