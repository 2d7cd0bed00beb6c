import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage } from '@anime/media';
import type { ParsedReference } from '../src/domain/bundle/parse-bundle';
import { referenceHashTimeoutMs, restoreReferenceFiles } from '../src/domain/bundle/restore-reference-files';
import { LibraryNotAnsweringError } from '@anime/media';
import { errorMiddleware } from '../src/http/error-middleware';
import { holdEveryPoolThread } from './hold-pool-threads';
import { jsonClient } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A merge import checks each reference the character already has against the library (a stat, then
// its sha256, which reads the whole file) before writing it back. On a library that stops answering
// (a hung mount) the stat was bounded (2 s, then taken as no answer) but the hash was not: the import
// never settled, its import slot and workspace held. Here every libuv pool thread is held, so the
// stat and the read both wait, as on a hung mount.
let gateway: TestGateway;
let fifoDir: string;
const image = png(20, 30, 71);

beforeAll(async () => {
  gateway = await startTestGateway('fixh-restore-hung');
  fifoDir = await mkdtemp(path.join(tmpdir(), 'fixh-hung-restore-'));
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Yui', slug: 'yui', definition: { displayName: 'Yui' } })).status).toBe(201);
  const form = new FormData();
  form.set('file', new Blob([image]), 'front.png');
  form.set('label', 'front');
  expect((await api.post('/api/v1/characters/yui/references', form)).status).toBe(201);
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

describe('the time a merge import may wait for a reference file to hash', () => {
  it('when the file is small, then the bound is the base (5 s); for the largest reference (20 MiB) it allows 1 MiB/s on top (25 s)', () => {
    expect(referenceHashTimeoutMs(4096)).toBe(5_000 + 4);
    expect(referenceHashTimeoutMs(20 * 1024 * 1024)).toBe(25_000);
  });
});

describe('a merge import restoring references while the library does not answer', () => {
  it('when the hash of a reference file hangs, then the restore fails within its bound with LibraryNotAnsweringError (no row touched), instead of never settling', async () => {
    const rows = await gateway.db.characterReference.findMany();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const bundled = path.join(fifoDir, 'front.png');
    await writeFile(bundled, image);
    const reference = { meta: { sha256: row.sha256, label: row.label }, path: bundled, decoded: { mime: 'image/png', extension: 'png', width: 20, height: 30 } } as unknown as ParsedReference;
    const bound = referenceHashTimeoutMs(row.bytes);

    const release = await holdEveryPoolThread(fifoDir);
    let outcome: unknown;
    let elapsed: number;
    try {
      const started = Date.now();
      outcome = await Promise.race([
        restoreReferenceFiles({ db: gateway.db, storage: new LocalLibraryStorage(gateway.libraryDir) }, rows, [reference]).then(
          (restored) => ({ restored }),
          (error: unknown) => error,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still pending'), bound + 10_000).unref()),
      ]);
      elapsed = Date.now() - started;
    } finally {
      await release();
    }
    // Before: 'still pending' (the hash never answered while the library hung).
    expect(outcome).toBeInstanceOf(LibraryNotAnsweringError);
    expect(outcome).toMatchObject({ reason: 'ETIMEDOUT', message: expect.stringContaining(row.path) });
    expect(elapsed!).toBeGreaterThanOrEqual(bound - 50);
    expect(elapsed!).toBeLessThan(bound + 2_000 + 3_000);
    expect(await gateway.db.characterReference.findUniqueOrThrow({ where: { id: row.id } })).toEqual(row);
  }, 40_000);

  it('when the import fails so, then it is answered 503 library_unavailable with Retry-After and details.reason ETIMEDOUT, not a 500', async () => {
    const app = express();
    app.post('/api/v1/characters/import', () => {
      throw new LibraryNotAnsweringError('references/yui/front.png', 5_004);
    });
    app.use(errorMiddleware(createLogger('test', 'error')));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const answer = await jsonClient(`http://127.0.0.1:${port}`, null).post('/api/v1/characters/import', {});
      expect({ status: answer.status, retryAfter: answer.headers.get('retry-after'), body: answer.body }).toEqual({
        status: 503,
        retryAfter: '60',
        body: { error: { code: 'library_unavailable', message: expect.stringContaining('did not answer'), details: { reason: 'ETIMEDOUT' } } },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
