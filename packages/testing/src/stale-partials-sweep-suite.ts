import { fileExists } from './file-exists';
import { heldSeam } from './gate';
import { useStalePartialsLibrary, type StalePartialsLibrary, type StalePartialsLibraryOptions } from './stale-partials-library';
import { waitFor } from './wait-for';

/** The sweep's options a service takes at its start (its `partialSweep`). */
export interface PartialSweepOptions {
  /** Runs before each removal: a test holds the sweep there. */
  beforeRemove?: () => Promise<void>;
  /** How often the sweep runs again while the service runs. */
  intervalMs?: number;
}

/** A service a sweep test started. */
export interface SweepingService {
  /** The port its /readyz answers on. */
  port: number;
  stop(): Promise<void>;
}

export interface StalePartialsSweepSuite extends Pick<StalePartialsLibraryOptions, 'label' | 'log' | 'graceMs'> {
  /** How the tests name the service: `gateway`, `service`... */
  name: string;
  /** Starts the service over the library (its database, queue prefix and folder), with the sweep's options given. */
  start(library: StalePartialsLibrary, partialSweep: PartialSweepOptions): Promise<SweepingService>;
  /**
   * Where in the library the service's killed writes leave temp files: one there at the start, one
   * left while the service runs on, one left after it stopped.
   */
  staleFiles: readonly [atStart: string, whileRunning: string, afterStop: string];
}

/**
 * The tests every service sweeping the library's stale temp files (a walk of millions of files in a
 * studio's year) must pass: ready without waiting for the sweep, the sweep ended by the stop, and
 * a temp file left after the first sweep removed by a later one while the service runs on.
 */
export function describeStalePartialsSweep(title: string, { name, start, staleFiles: [atStart, whileRunning, afterStop], ...libraryOptions }: StalePartialsSweepSuite): void {
  describe(title, () => {
    let service: SweepingService | undefined;
    const library = useStalePartialsLibrary({
      ...libraryOptions,
      stopService: async () => {
        await service?.stop();
        service = undefined;
      },
    });
    const { infos } = library;
    const readyz = async () => (await fetch(`http://127.0.0.1:${service!.port}/readyz`)).status;

    it(`when the sweep has not ended, then the ${name} is ready already; the sweep ends after, and is logged`, async () => {
      const file = await library.staleFile(atStart);
      const sweep = heldSeam();
      service = await start(library, { beforeRemove: sweep.hold });
      // Ready, the sweep still under way: the stale file is still there and no end was logged.
      expect(await readyz()).toBe(200);
      expect(await fileExists(file)).toBe(true);
      expect(infos).not.toContain('stale partial library files removed');
      await sweep.reached;
      sweep.release();
      await waitFor(() => infos.includes('stale partial library files removed'), 'the sweep logged as done');
      expect(await fileExists(file)).toBe(false);
      expect(await readyz()).toBe(200);
    });

    it(`when the ${name} stops while the sweep is about to remove, then nothing is removed after the stop`, async () => {
      const file = await library.staleFile(atStart);
      const sweep = heldSeam();
      service = await start(library, { beforeRemove: sweep.hold });
      await sweep.reached;
      const stopping = service.stop();
      sweep.release();
      await stopping;
      service = undefined;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await fileExists(file)).toBe(true);
      expect(infos).toContain('stale partial library files sweep stopped');
    });

    it(`when the ${name} runs on, then a temp file a killed write leaves after the first sweep is removed by a later one; once stopped, none is`, async () => {
      const swept = () => infos.filter((message) => message === 'stale partial library files removed').length;
      service = await start(library, { intervalMs: 100 });
      await waitFor(() => swept() >= 1, 'the sweep after the start');
      // A write killed and not retried at the same path, and no restart: only a later sweep can take its temp file away.
      const late = await library.staleFile(whileRunning);
      await waitFor(async () => !(await fileExists(late)), 'a later sweep removing the leftover', 10_000);
      await service.stop();
      service = undefined;
      const sweptAtStop = swept();
      const leftAfterStop = await library.staleFile(afterStop);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await fileExists(leftAfterStop)).toBe(true);
      expect(swept()).toBe(sweptAtStop);
    });
  });
}
