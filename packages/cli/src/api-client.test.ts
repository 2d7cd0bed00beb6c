import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient } from './api-client';
import { CliError } from './cli-error';

describe('ApiClient against a server that does not answer', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    // Takes each request and never answers it (a frozen host, a proxy holding requests), or sends the headers and stops.
    server = createServer((request, response) => {
      if (request.url?.startsWith('/headers-only')) response.writeHead(200, { 'content-type': 'application/json' }).write('{"items":[');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('when no answer, or no end of it, comes within its timeout, then a CliError says so (not "cannot reach"), in time', async () => {
    const api = new ApiClient({ baseUrl, key: null, keySource: 'none' }, 300);
    for (const path of ['/api/v1/generations?limit=20', '/headers-only']) {
      const started = Date.now();
      const error = await api.get(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).message).toBe(`the gateway at ${baseUrl} did not answer GET ${path.split('?')[0]} within 0.3 s`);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  }, 15_000);
});

describe('ApiClient saying a refusal', () => {
  let server: Server;
  let baseUrl: string;
  let body: unknown;
  beforeAll(async () => {
    server = createServer((_request, response) => response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const refusal = () => new ApiClient({ baseUrl, key: null, keySource: 'none' }).post('/api/v1/generations', {}).catch((e: CliError) => e.message);

  it('when a detail only repeats the message (webhook_not_registered), then the line says it once; a detail the message does not name is added', async () => {
    const message = 'webhook: http://hooks.example/x is not a registered webhook endpoint reaching this project; register it first (POST /api/v1/webhooks), its secret signs the deliveries';
    body = { error: { code: 'webhook_not_registered', message, details: [{ path: 'webhook.url', message }] } };
    expect(await refusal()).toBe(`400 webhook_not_registered: ${message}`);
    body = { error: { code: 'validation_failed', message: 'invalid request body: count: Too small', details: [{ path: 'count', message: 'Too small' }, { path: 'width', message: 'Too small' }] } };
    expect(await refusal()).toBe('400 validation_failed: invalid request body: count: Too small; width: Too small');
  });
});
