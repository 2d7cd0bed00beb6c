import { type FileOrganizerConfig } from '@anime/config';
import type { Logger } from '@anime/logger';
import { LocalLibraryStorage, sweepStalePartialsInBackground, type LocalLibraryStorageOptions, type StalePartialSweepOptions } from '@anime/media';
import { prepareLibraryDir, sharedServiceOptions, startWorkerService, type RunningService } from '@anime/pipeline';
import { createOutputFetcher } from './domain/fetch-output';
import { createFileOutputsHandler, type FileOutputsHandler } from './jobs/file-outputs.processor';

export interface FileOrganizerOptions {
  /** The background sweeps of stale temp files (tests hold them with `beforeRemove`, space them with `intervalMs`). */
  partialSweep?: StalePartialSweepOptions;
  /** The longest time between two looks of a filing that waits for its backend or the library (default 15 s; tests shorten it). */
  waitStepMs?: number;
  /** How long a filing job put back while PostgreSQL is away waits before it runs again (default 5 s; tests shorten it). */
  databaseRetryDelayMs?: number;
  /** How the library's writes are bounded and made (tests shorten the bound and hold the threads, as a hung mount would). */
  library?: LocalLibraryStorageOptions;
  /** The sweep of failed generations' unsettled filings: how often (default RECOVERY_SWEEP_MS) and after how long untouched (tests shorten both). */
  failedFilingSweep?: { intervalMs?: number; graceMs?: number };
}

/** The file-organizer: files rendered outputs into the library (`asset-filing`). */
export async function startFileOrganizer(config: FileOrganizerConfig, log: Logger, options: FileOrganizerOptions = {}): Promise<RunningService> {
  await prepareLibraryDir(config.LIBRARY_DIR);
  let handler: FileOutputsHandler | undefined;
  const service = await startWorkerService({
    service: 'file-organizer',
    opsPort: config.FILE_ORGANIZER_PORT,
    ...sharedServiceOptions(config),
    databaseRetryDelayMs: options.databaseRetryDelayMs,
    log,
    build: async (ctx) => {
      const fetchOutput = createOutputFetcher(log);
      return {
        handlers: { assetFiling: handler = createFileOutputsHandler({ ...ctx, storage: new LocalLibraryStorage(config.LIBRARY_DIR, options.library), fetchOutput, backendWait: { limitMs: config.JOB_TIMEOUT_S * 1000, ...(options.waitStepMs ? { maxStepMs: options.waitStepMs } : {}) } }) },
        concurrency: { assetFiling: 4 },
        stop: async () => fetchOutput.close(),
      };
    },
  });
  // Once ready (a walk of a library of millions of files must not hold the start), then hourly.
  const partials = sweepStalePartialsInBackground(config.LIBRARY_DIR, log, options.partialSweep);
  const failedFilings = sweepFailedFilingsInBackground(handler!, log, { intervalMs: config.RECOVERY_SWEEP_MS, ...options.failedFilingSweep });
  return {
    ...service,
    stop: async () => {
      await Promise.all([partials.stop(), failedFilings.stop(), service.stop()]);
    },
  };
}

/**
 * Once ready, then every `intervalMs`: the files of generations that failed at filing, which no
 * filing job comes back to remove (the recovery sweep re-queues only active and canceled ones), are
 * removed (FileOutputsHandler.sweepFailedFilings). One sweep at a time; a fault (PostgreSQL away)
 * is logged and the next sweep tries again. Its stop ends a sweep under way once the generation it is
 * at is done, and waits for that.
 */
function sweepFailedFilingsInBackground(handler: FileOutputsHandler, log: Logger, { intervalMs, graceMs }: { intervalMs: number; graceMs?: number }) {
  let running: Promise<void> | null = null;
  const stopping = new AbortController();
  const sweep = () => {
    if (running || stopping.signal.aborted) return;
    running = handler
      .sweepFailedFilings(graceMs, stopping.signal)
      .then((count) => {
        if (count) log.info('removed the files of generations that failed while filing', { generations: count });
      })
      // Cut short by the stop (its database closed under it): not a fault.
      .catch((error) => void log.log(stopping.signal.aborted ? 'debug' : 'warn', 'could not sweep the files of generations that failed while filing; the next sweep tries again', { error: (error as Error).message }))
      .finally(() => (running = null));
  };
  const first = setImmediate(sweep);
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopping.abort();
      clearImmediate(first);
      clearInterval(timer);
      await running;
    },
  };
}
