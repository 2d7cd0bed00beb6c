import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uniqueQueuePrefix, removeQueueKeys } from './queue-prefix';
import { createTestDatabase, type TestDatabase } from './test-database';

/** What a service's test of its stale temp files sweep works on. */
export interface StalePartialsLibrary {
  /** The service's database, one for the test file. */
  readonly database: TestDatabase;
  readonly queuePrefix: string;
  /** The library folder, a new empty one for each test. */
  readonly dir: string;
  /** The messages the service logged at info level during the current test. */
  readonly infos: string[];
  /** Writes the temp file a killed write leaves, at `relative` in the library and past the sweep's grace. */
  staleFile(relative: string): Promise<string>;
}

export interface StalePartialsLibraryOptions {
  /** Names the database, queue prefix and folders (e.g. `gw-partial-sweep`). */
  label: string;
  /** The service's logger: its info lines are recorded into `infos`. */
  log: { info: (...args: never[]) => unknown };
  /** The sweep's grace (PARTIAL_GRACE_MS): a stale file is written twice as old. */
  graceMs: number;
  /** Stops the service the test started, if any: run after each test, before its library folder goes. */
  stopService: () => Promise<void>;
}

/**
 * Sets up, in the calling `describe`, the database, queue prefix and per-test library folder of a
 * service's stale temp files sweep test, and removes them after.
 */
export function useStalePartialsLibrary({ label, log, graceMs, stopService }: StalePartialsLibraryOptions): StalePartialsLibrary {
  let database: TestDatabase | undefined;
  let dir: string | undefined;
  const queuePrefix = uniqueQueuePrefix(label);
  const infos: string[] = [];
  jest.spyOn(log, 'info').mockImplementation(((message: string) => {
    infos.push(message);
    return log;
  }) as never);

  beforeAll(async () => {
    database = await createTestDatabase(label);
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), `${label}-library-`));
    infos.length = 0;
  });
  afterEach(async () => {
    await stopService();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  const library: StalePartialsLibrary = {
    get database() {
      if (!database) throw new Error('the test database is created in beforeAll');
      return database;
    },
    queuePrefix,
    get dir() {
      if (!dir) throw new Error('the library folder is created in beforeEach');
      return dir;
    },
    infos,
    async staleFile(relative: string) {
      const file = path.join(library.dir, relative);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, 'x');
      const when = new Date(Date.now() - graceMs * 2);
      await utimes(file, when, when);
      return file;
    },
  };
  return library;
}
