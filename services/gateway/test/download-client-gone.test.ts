import { request } from 'node:http';
import { createLogger } from '@anime/logger';
import { filedAsset } from './filed-asset';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A client that leaves a download half-way (a closed tab, a canceled curl) is no fault of the
// gateway's: nothing is left to answer, and it is no "unexpected error" (an error-level line an
// operator is paged on, with a stack), as Express's sendFile reported it (ECONNABORTED).
type LogLine = { level: string; message: string; [key: string]: unknown };
let gateway: TestGateway;
const lines: LogLine[] = [];
let assetUrl = '';
const bytes = 32 * 1024 * 1024;

beforeAll(async () => {
  const log = createLogger('gateway', 'debug');
  for (const transport of log.transports) transport.silent = true;
  log.on('data', (line: LogLine) => lines.push(line));
  gateway = await startTestGateway('download-client-gone', { log });
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  ({ url: assetUrl } = await filedAsset(gateway, 'kai', Buffer.alloc(bytes, 9)));
});
afterAll(async () => {
  await gateway?.close();
});

/** Starts the download, reads its first chunk, then leaves: the socket destroyed. */
function leaveHalfWay(): Promise<number> {
  const target = new URL(assetUrl, gateway.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers: gateway.authHeaders, agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    req.end();
  });
}

describe('a download the client leaves half-way', () => {
  it('when clients leave a large download after its first bytes, then no error-level line is logged and the file is still served whole', async () => {
    for (let i = 0; i < 3; i++) expect(await leaveHalfWay()).toBe(200);
    // The gateway notices a socket gone on its next write.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Before: three `unexpected error` lines at error (Request aborted, ECONNABORTED).
    expect(lines.filter((line) => line.level === 'error').map((line) => `${line.message}: ${String(line.error)}`)).toEqual([]);
    const whole = await fetch(`${gateway.baseUrl}${assetUrl}`, { headers: gateway.authHeaders });
    expect({ status: whole.status, bytes: (await whole.arrayBuffer()).byteLength }).toEqual({ status: 200, bytes });
  });
});
