import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProgramName } from '@anime/stack';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, type TestDatabase } from '@anime/testing';
import { runToExit } from './run-to-exit';

// The services that write the library, as processes whose LIBRARY_DIR cannot take files: each
// stops at start naming LIBRARY_DIR, never repeating the path.

const WRITERS: ProgramName[] = ['gateway', 'file-organizer'];

describe('a service whose LIBRARY_DIR cannot be used', () => {
  let database: TestDatabase;
  let scratch: string;
  const queuePrefix = uniqueQueuePrefix('library-refused');
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    database = await createTestDatabase('library-refused');
    scratch = await mkdtemp(path.join(tmpdir(), 'library-refused-'));
    env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: queuePrefix, PORT: '0', FILE_ORGANIZER_PORT: '0' };
  });

  afterAll(async () => {
    await chmod(path.join(scratch, 'read-only'), 0o700).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    await database?.drop();
    await removeQueueKeys(queuePrefix);
  });

  it('when a file stands in the way of LIBRARY_DIR, then each exits 1 naming LIBRARY_DIR and the error code, not the path', async () => {
    const file = path.join(scratch, 'a-file');
    await writeFile(file, 'not a directory');
    const ends = await Promise.all(WRITERS.map((program) => runToExit(program, { ...env, LIBRARY_DIR: path.join(file, 'library') })));
    for (const end of ends) {
      expect({ code: end.code, output: end.output }).toEqual({ code: 1, output: expect.stringMatching(/failed to start: LIBRARY_DIR: cannot create the library directory \((ENOTDIR|EEXIST)\)/) });
      expect(end.output).not.toContain(scratch);
    }
  }, 60_000);

  // Root writes through mode bits (as through chattr +i, which a test cannot set): only as a user.
  (process.getuid?.() === 0 ? it.skip : it)('when LIBRARY_DIR exists but cannot be written, then each exits 1 naming LIBRARY_DIR', async () => {
    const dir = path.join(scratch, 'read-only');
    await mkdir(dir);
    await chmod(dir, 0o555);
    const ends = await Promise.all(WRITERS.map((program) => runToExit(program, { ...env, LIBRARY_DIR: dir })));
    for (const end of ends) {
      expect({ code: end.code, output: end.output }).toEqual({ code: 1, output: expect.stringMatching(/failed to start: LIBRARY_DIR: the library directory is not writable \(EACCES\)/) });
      expect(end.output).not.toContain(dir);
    }
  }, 60_000);
});
