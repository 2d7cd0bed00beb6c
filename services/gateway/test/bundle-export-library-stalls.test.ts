import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@anime/logger';
import { sha256Hex } from '@anime/media';
import { DOWNLOAD_STALL_TIMEOUT_MS } from '../src/http/send-library-file';
import { downloadWhileLibraryStalls } from './download-while-library-stalls';
import { makeSoraWithNoiseReferences } from './sora-with-noise-references';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// An export whose library stops answering while it streams an image (a hung NFS mount): the 200
// went out with the manifest, so no error can be answered. Nothing cut it: the client waited for
// the rest of the zip for good, the request holding its socket and the image's file. The connection
// must be destroyed within the bound (what arrived is no zip), logged once, and the export must
// stream whole once the library answers.
type LogLine = { level: string; message: string; [key: string]: unknown };
let gateway: TestGateway;
let fifoDir: string;
const lines: LogLine[] = [];
const IMAGES = 5;

beforeAll(async () => {
  const log = createLogger('gateway', 'debug');
  for (const transport of log.transports) transport.silent = true;
  log.on('data', (line: LogLine) => lines.push(line));
  gateway = await startTestGateway('stall-export', { log });
  fifoDir = await mkdtemp(path.join(tmpdir(), 'stall-export-'));
  await makeSoraWithNoiseReferences(gateway, IMAGES);
}, 60_000);
afterAll(async () => {
  await gateway?.close();
  await rm(fifoDir, { recursive: true, force: true });
});

describe('an export whose library read stalls while it streams', () => {
  it('when the library stops answering mid-zip, then the connection is cut within the bound, what arrived is no zip, it is logged once, and the export streams whole once the library answers', async () => {
    lines.splice(0);
    const stalled = await downloadWhileLibraryStalls(gateway, '/api/v1/characters/sora/export', fifoDir, DOWNLOAD_STALL_TIMEOUT_MS + 10_000);
    try {
      expect(stalled.status).toBe(200);
      // Before: 'no end' (the client waited on, given up after the bound and 10 s more).
      expect(stalled.ending).toBe('aborted');
      expect(stalled.endedSinceHoldMs).toBeGreaterThanOrEqual(DOWNLOAD_STALL_TIMEOUT_MS - 50);
      expect(stalled.endedAfterMs).toBeLessThan(DOWNLOAD_STALL_TIMEOUT_MS + 3_000);
      await expect(unzip(stalled.body)).rejects.toThrow();
      const logged = lines.filter((line) => line.level !== 'debug' && line.level !== 'info').map((line) => ({ level: line.level, message: line.message, code: line.code }));
      expect(logged).toEqual([{ level: 'warn', message: 'library not answering: download cut mid-stream', code: 'ETIMEDOUT' }]);
    } finally {
      await stalled.release();
    }
    const whole = await fetch(`${gateway.baseUrl}/api/v1/characters/sora/export`, { headers: gateway.authHeaders });
    expect(whole.status).toBe(200);
    const files = await unzip(Buffer.from(await whole.arrayBuffer()));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { files: { path: string; sha256: string }[] };
    expect(manifest.files).toHaveLength(IMAGES + 1);
    for (const entry of manifest.files) expect(sha256Hex(files.get(entry.path)!)).toBe(entry.sha256);
  }, 60_000);
});
