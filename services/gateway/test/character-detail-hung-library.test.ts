import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REFERENCE_LOOK_TIMEOUT_MS } from '../src/domain/lost-reference-files';
import { holdEveryPoolThread } from './hold-pool-threads';
import { jsonClient } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A library on a file system that stops answering (a hung NFS mount): a stat never returns, holding
// one of libuv's threads. Here every thread of the pool is held the same way, each by an open of a
// FIFO no writer has opened (an open that blocks in the kernel, as a hung mount's calls do), so the
// stats the character detail makes of its references' files never run. The request must still be
// answered, its references as last recorded (a look that got no answer says nothing of the file).
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
let fifoDir: string;

function upload(bytes: Buffer, label: string) {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  return api.post('/api/v1/characters/yui/references', form);
}

beforeAll(async () => {
  gateway = await startTestGateway('fixc-hung-stat');
  api = gateway.client();
  fifoDir = await mkdtemp(path.join(tmpdir(), 'hung-library-'));
  expect((await api.post('/api/v1/characters', { name: 'Yui', slug: 'yui', definition: { displayName: 'Yui' } })).status).toBe(201);
  expect((await upload(png(20, 30, 61), 'front')).status).toBe(201);
  expect((await upload(png(20, 30, 62), 'side')).status).toBe(201);
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

describe('the character detail while the library does not answer', () => {
  it('when every stat of its reference files hangs, then the detail still answers 200 within the look timeout, its references as recorded', async () => {
    const release = await holdEveryPoolThread(fifoDir);
    try {
      const started = Date.now();
      // Before: no answer at all (the fetch is cut after 10 s).
      const detail = await fetch(`${gateway.baseUrl}/api/v1/characters/yui`, { headers: gateway.authHeaders, signal: AbortSignal.timeout(10_000) });
      const elapsed = Date.now() - started;
      expect(detail.status).toBe(200);
      const body = (await detail.json()) as { references: { label: string; missing: boolean }[] };
      expect(body.references.map((r) => [r.label, r.missing])).toEqual([
        ['front', false],
        ['side', false],
      ]);
      expect(elapsed).toBeGreaterThanOrEqual(REFERENCE_LOOK_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(REFERENCE_LOOK_TIMEOUT_MS + 3_000);

      const list = await fetch(`${gateway.baseUrl}/api/v1/characters/yui/references`, { headers: gateway.authHeaders, signal: AbortSignal.timeout(10_000) });
      expect(list.status).toBe(200);
    } finally {
      await release();
    }
    // Once the library answers again, the rows were left as they were: nothing marked missing.
    expect((await gateway.db.characterReference.findMany({ where: { missing: true } })).length).toBe(0);
  }, 30_000);
});
