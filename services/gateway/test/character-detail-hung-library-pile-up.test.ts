import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REFERENCE_LOOK_TIMEOUT_MS } from '../src/domain/lost-reference-files';
import { holdEveryPoolThread } from './hold-pool-threads';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A library whose file system stops answering (a hung mount): every stat waits in libuv's queue
// behind the pool's threads, each held here by an open of a FIFO no writer has opened (as in
// character-detail-hung-library.test.ts). A look at a reference's file that got no answer says
// nothing of it; a look at the same file while that one still has not answered must not queue one
// more stat behind it: each request made one per reference, a queue (and memory) growing for as
// long as the mount hangs, and each request waited the whole look timeout again.
let gateway: TestGateway;
let fifoDir: string;

async function upload(bytes: Buffer, label: string) {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/mio/references`, { method: 'POST', body: form, headers: gateway.authHeaders });
  expect(answer.status).toBe(201);
}

beforeAll(async () => {
  gateway = await startTestGateway('reviewi-hung-pileup');
  fifoDir = await mkdtemp(path.join(tmpdir(), 'reviewI-hung-'));
  expect((await gateway.client().post('/api/v1/characters', { name: 'Mio', slug: 'mio', definition: { displayName: 'Mio' } })).status).toBe(201);
  await upload(png(20, 30, 71), 'front');
  await upload(png(20, 30, 72), 'side');
});
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

/** File-system requests of this process (the gateway runs in it) not answered yet. */
const pendingFsRequests = () => process.getActiveResourcesInfo().filter((what) => what.startsWith('FSReq')).length;

async function detail(): Promise<{ ms: number; missing: [string, boolean][] }> {
  const started = Date.now();
  const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/mio`, { headers: gateway.authHeaders, signal: AbortSignal.timeout(10_000) });
  expect(answer.status).toBe(200);
  const body = (await answer.json()) as { references: { label: string; missing: boolean }[] };
  return { ms: Date.now() - started, missing: body.references.map((r) => [r.label, r.missing]) };
}

describe('the character detail, asked again and again while the library does not answer', () => {
  it('when the stats of its reference files got no answer, then later requests queue no more stats for them and answer at once; once the library answers, files are looked at again', async () => {
    const release = await holdEveryPoolThread(fifoDir);
    let pendingAfterFirst: number;
    try {
      const first = await detail();
      expect(first.ms).toBeGreaterThanOrEqual(REFERENCE_LOOK_TIMEOUT_MS - 50);
      pendingAfterFirst = pendingFsRequests();
      for (let i = 0; i < 5; i++) {
        const again = await detail();
        // Before: each waited the whole timeout again, and queued one more stat per reference.
        expect(again.ms).toBeLessThan(REFERENCE_LOOK_TIMEOUT_MS / 2);
        expect(again.missing).toEqual([
          ['front', false],
          ['side', false],
        ]);
      }
      expect(pendingFsRequests()).toBe(pendingAfterFirst);
    } finally {
      await release();
    }
    // The queued stats answer now; a file removed meanwhile is seen lost by the next look.
    const references = await gateway.db.characterReference.findMany({ where: { label: 'side' } });
    await rm(path.join(gateway.libraryDir, references[0]!.path));
    const until = Date.now() + 5_000;
    let after = await detail();
    while (!after.missing.some(([label, missing]) => label === 'side' && missing) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await detail();
    }
    expect(after.missing).toEqual([
      ['front', false],
      ['side', true],
    ]);
  }, 40_000);
});
