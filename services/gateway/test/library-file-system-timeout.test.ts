import fs from 'node:fs';
import type { ReadStream } from 'node:fs';
import express from 'express';
import { createLogger } from '@anime/logger';
import { errorMiddleware } from '../src/http/error-middleware';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// An NFS mount mounted `soft` gives up on a call the server does not answer with ETIMEDOUT, the errno
// a socket to PostgreSQL times out with too. The error middleware asked isDatabaseUnavailable first,
// which took the code alone: a library download or upload meeting it answered 503
// database_unavailable (Retry-After 5) and was logged as a database outage, sending an operator to a
// database that is fine. It is the library not answering: library_unreadable on a download (as the
// gateway's own bound answers a hung mount), library_unavailable on a write route, reason ETIMEDOUT.

/** What fs throws when a soft network mount times a call out. */
const timedOut = (props: { syscall: string; path?: string }): NodeJS.ErrnoException =>
  Object.assign(new Error(`ETIMEDOUT: connection timed out, ${props.syscall}${props.path ? ` '${props.path}'` : ''}`), { errno: -110, code: 'ETIMEDOUT', ...props });

describe('the answer to a library file-system call a network mount timed out (ETIMEDOUT)', () => {
  const log = createLogger('test', 'error');
  let server: import('node:http').Server;
  let client: ReturnType<typeof jsonClient>;
  let thrown: unknown;

  beforeAll(async () => {
    const app = express();
    app.all('/throw', () => {
      throw thrown;
    });
    app.use(errorMiddleware(log));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    client = jsonClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`, null);
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  async function answerTo(method: 'get' | 'post', error: unknown) {
    thrown = error;
    const warn = jest.spyOn(log, 'warn');
    try {
      const answer: JsonResponse = method === 'get' ? await client.get('/throw') : await client.post('/throw', {});
      return { status: answer.status, retryAfter: answer.headers.get('retry-after'), body: answer.body, logged: warn.mock.calls.map((call) => call[0]) };
    } finally {
      warn.mockRestore();
    }
  }

  it('when a download’s read times out, then it is 503 library_unreadable (ETIMEDOUT) with Retry-After 60, logged as the library not answering, not as a database outage', async () => {
    const answer = await answerTo('get', timedOut({ syscall: 'read', path: '/srv/library/references/kai/front.png' }));
    // Before: 503 database_unavailable, Retry-After 5, logged "database unavailable".
    expect(answer).toEqual({
      status: 503,
      retryAfter: '60',
      body: { error: { code: 'library_unreadable', message: expect.stringContaining('(ETIMEDOUT)'), details: { reason: 'ETIMEDOUT' } } },
      logged: ['library not answering'],
    });
    // The gateway's own path on its volume is not told to the client.
    expect(JSON.stringify(answer.body)).not.toContain('/srv/library');
  });

  it('when an upload’s open or mkdir times out, then it is 503 library_unavailable (ETIMEDOUT) with Retry-After 60', async () => {
    for (const error of [timedOut({ syscall: 'open', path: '/srv/library/references/kai/front.png.0123456789ab.partial' }), timedOut({ syscall: 'mkdir' })]) {
      const answer = await answerTo('post', error);
      expect(answer).toEqual({
        status: 503,
        retryAfter: '60',
        body: { error: { code: 'library_unavailable', message: expect.stringContaining('(ETIMEDOUT)'), details: { reason: 'ETIMEDOUT' } } },
        logged: ['library not answering'],
      });
    }
  });

  it('when a database connection times out (a socket’s ETIMEDOUT on connect or read), then it is still 503 database_unavailable on either route', async () => {
    for (const method of ['get', 'post'] as const) {
      for (const error of [Object.assign(timedOut({ syscall: 'connect' }), { address: '10.0.0.5', port: 5432 }), timedOut({ syscall: 'read' })]) {
        const answer = await answerTo(method, error);
        expect({ method, status: answer.status, retryAfter: answer.retryAfter, code: (answer.body as { error: { code: string } }).error.code, logged: answer.logged }).toEqual({
          method,
          status: 503,
          retryAfter: '5',
          code: 'database_unavailable',
          logged: ['database unavailable'],
        });
      }
    }
  });
});

describe('a reference download and upload on a library whose network mount times calls out', () => {
  let gateway: TestGateway;
  let api: ReturnType<typeof jsonClient>;
  const front = png(20, 30, 93);

  const upload = (bytes: Buffer, label: string, slug = 'sora') => {
    const form = new FormData();
    form.set('file', new Blob([bytes]), `${label}.png`);
    form.set('label', label);
    return api.post(`/api/v1/characters/${slug}/references`, form);
  };

  beforeAll(async () => {
    gateway = await startTestGateway('r34h-fs-timeout');
    api = gateway.client();
    expect((await api.post('/api/v1/characters', { name: 'Sora', slug: 'sora', definition: { displayName: 'Sora' } })).status).toBe(201);
    // A character of its own: its references' folder not made yet.
    expect((await api.post('/api/v1/characters', { name: 'Hana', slug: 'hana', definition: { displayName: 'Hana' } })).status).toBe(201);
  });
  afterAll(() => gateway?.close());
  afterEach(() => jest.restoreAllMocks());

  it('when the reference file’s read times out (ETIMEDOUT on its read, naming no path, as a read by descriptor fails), then the download is 503 library_unreadable (ETIMEDOUT) and the reference is not marked missing', async () => {
    const stored = await upload(front, 'front');
    expect(stored.status).toBe(201);
    const id = (stored.body as { id: string }).id;
    const createReadStream = fs.createReadStream;
    // The file opens; its first read is timed out by the mount.
    jest.spyOn(fs, 'createReadStream').mockImplementation(((...args: Parameters<typeof fs.createReadStream>) => {
      const stream = createReadStream(...args) as ReadStream & { _read: (size: number) => void };
      stream._read = () => stream.destroy(timedOut({ syscall: 'read' }));
      return stream;
    }) as typeof fs.createReadStream);

    const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/sora/references/${id}/file`, { headers: gateway.authHeaders });
    // Before: 503 database_unavailable, Retry-After 5.
    expect({ status: answer.status, retryAfter: answer.headers.get('retry-after'), body: await answer.json() }).toEqual({
      status: 503,
      retryAfter: '60',
      body: { error: { code: 'library_unreadable', message: expect.stringContaining('did not answer the read in time'), details: { reason: 'ETIMEDOUT' } } },
    });
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id } })).missing).toBe(false);

    jest.restoreAllMocks();
    const again = await fetch(`${gateway.baseUrl}/api/v1/characters/sora/references/${id}/file`, { headers: gateway.authHeaders });
    expect({ status: again.status, bytes: Buffer.from(await again.arrayBuffer()).equals(front) }).toEqual({ status: 200, bytes: true });
  });

  it('when making the image’s library folder times out (ETIMEDOUT on mkdir, naming its path), then the upload is 503 library_unavailable (ETIMEDOUT), nothing recorded, and the same upload succeeds once the mount answers', async () => {
    const other = png(20, 30, 94);
    const mkdir = fs.promises.mkdir;
    jest.spyOn(fs.promises, 'mkdir').mockImplementation((async (folder: fs.PathLike) => {
      throw timedOut({ syscall: 'mkdir', path: String(folder) });
    }) as unknown as typeof mkdir);
    const before = await gateway.db.characterReference.count();

    const refused = await upload(other, 'side', 'hana');
    // Before: 503 database_unavailable, Retry-After 5.
    expect({ status: refused.status, retryAfter: refused.headers.get('retry-after'), body: refused.body }).toEqual({
      status: 503,
      retryAfter: '60',
      body: { error: { code: 'library_unavailable', message: expect.stringContaining('(ETIMEDOUT)'), details: { reason: 'ETIMEDOUT' } } },
    });
    expect(await gateway.db.characterReference.count()).toBe(before);

    jest.restoreAllMocks();
    expect((await upload(other, 'side', 'hana')).status).toBe(201);
  });
});
