import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ComfyHttpError } from '../src/errors/comfy-http-error';
import { ComfyUnreachableError } from '../src/errors/comfy-unreachable-error';
import { ComfyHttp } from '../src/http/comfy-http';

/** A ComfyUI stand-in that records what it was sent and answers by path. */
describe('ComfyHttp (node:http, no axios)', () => {
  let server: http.Server;
  let base: string;
  const seen: { method?: string; url?: string; authorization?: string; contentType?: string; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
        if (req.url!.endsWith('/slow')) return void setTimeout(() => res.end('{}'), 1_000);
        if (req.url!.endsWith('/boom')) return void res.writeHead(500).end('no');
        if (req.url!.endsWith('/text')) return void res.writeHead(400).end('not json');
        if (req.url!.endsWith('/gzip')) return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(gzipSync('{"zipped":true}'));
        if (req.url!.endsWith('/bytes')) return void res.end(Buffer.from([0, 1, 2, 255]));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (seen.length = 0));

  it('when the base URL has credentials and a path, then requests carry basic auth and go under that path, with params and a JSON body', async () => {
    const client = new ComfyHttp(`${base.replace('http://', 'http://user:p%40ss@')}/comfy/`, 2_000);
    expect(await client.ok({ method: 'post', url: '/prompt', params: { a: '1 2' }, data: { prompt: { x: 1 } } })).toEqual({ ok: true });
    expect(seen).toEqual([{ method: 'POST', url: '/comfy/prompt?a=1+2', authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}`, contentType: 'application/json', body: '{"prompt":{"x":1}}' }]);
  });

  it('when the answer is not JSON, compressed or bytes, then it comes back as text, unzipped or as a Buffer', async () => {
    const client = new ComfyHttp(base, 2_000);
    expect(await client.request({ url: '/text' })).toEqual({ status: 400, data: 'not json' });
    await expect(client.ok({ url: '/text' })).rejects.toBeInstanceOf(ComfyHttpError);
    expect(await client.ok({ url: '/gzip' })).toEqual({ zipped: true });
    expect([...(await client.ok<Buffer>({ url: '/bytes', responseType: 'arraybuffer' }))]).toEqual([0, 1, 2, 255]);
  });

  it('when ComfyUI answers 5xx, is too slow or is not there, then ComfyUnreachableError says which', async () => {
    const client = new ComfyHttp(base, 200);
    await expect(client.ok({ url: '/boom' })).rejects.toMatchObject({ name: 'ComfyUnreachableError', status: 500 });
    await expect(client.ok({ url: '/slow' })).rejects.toThrow(/unreachable \(GET \/slow: ECONNABORTED\)/);
    const gone = new ComfyHttp('http://127.0.0.1:1', 2_000);
    await expect(gone.ok({ url: '/prompt' })).rejects.toBeInstanceOf(ComfyUnreachableError);
  });
});
