import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import axios, { AxiosError } from 'axios';
import { ComfyHttpError } from '../src/errors/comfy-http-error';
import { ComfyUnreachableError } from '../src/errors/comfy-unreachable-error';
import { ComfyHttp } from '../src/http/comfy-http';
import { undiciAdapter } from '../src/http/undici-adapter';

/** A ComfyUI stand-in that records what it was sent and answers by path. */
describe('ComfyHttp (axios over undici)', () => {
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
        // The status and part of the body, then nothing more (a hung server, a half-open connection).
        if (req.url!.endsWith('/stalled-body')) return void res.writeHead(200, { 'content-type': 'application/json' }).write('{"a":');
        if (req.url!.endsWith('/boom')) return void res.writeHead(500).end('no');
        if (req.url!.endsWith('/text')) return void res.writeHead(400).end('not json');
        if (req.url!.endsWith('/gzip')) return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(gzipSync('{"zipped":true}'));
        // Labelled compressed, and not: nothing at all (announced, or in chunks), plain text, a cut stream, a proxy's 502 page.
        if (req.url!.endsWith('/gzip-empty')) return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': 0 }).end();
        if (req.url!.endsWith('/br-empty-chunked')) return void res.writeHead(200, { 'content-encoding': 'br', 'transfer-encoding': 'chunked' }).end();
        if (req.url!.endsWith('/gzip-plain')) return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end('{"plain":true}');
        if (req.url!.endsWith('/br-plain')) return void res.writeHead(200, { 'content-encoding': 'br' }).end('{"plain":true}');
        if (req.url!.endsWith('/gzip-cut')) return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('{"zipped":true}').subarray(0, 12));
        if (req.url!.endsWith('/gzip-502')) return void res.writeHead(502, { 'content-encoding': 'gzip' }).end('Bad Gateway');
        if (req.url!.endsWith('/bytes')) return void res.end(Buffer.from([0, 1, 2, 255]));
        if (req.url!.endsWith('/brotli')) return void res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync('{"brotli":true}'));
        if (req.url!.endsWith('/missing')) return void res.writeHead(404).end('{"error":"none"}');
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

  it('when the base URL has credentials, then no error message quotes them: the URL shows *** in their place', async () => {
    const withCredentials = (url: string) => `${url.replace('http://', 'http://comfy:Pr0xyPw@')}/comfy`;
    const failures = await Promise.all([
      new ComfyHttp(withCredentials(base), 2_000).ok({ url: '/boom' }),
      new ComfyHttp(withCredentials(base), 2_000).ok({ url: '/text' }),
      new ComfyHttp(withCredentials('http://127.0.0.1:1'), 2_000).ok({ url: '/prompt' }),
    ].map((request) => request.then(() => new Error('answered'), (error: Error) => error)));
    expect(failures.map((error) => error.name)).toEqual(['ComfyUnreachableError', 'ComfyHttpError', 'ComfyUnreachableError']);
    for (const error of failures) expect(`${error.message} ${error.stack}`).not.toContain('Pr0xyPw');
    expect(failures[0].message).toBe(`ComfyUI at ${base.replace('http://', 'http://***@')}/comfy answered 500 to GET /boom`);
    expect(failures[2].message).toMatch(/^ComfyUI at http:\/\/\*\*\*@127\.0\.0\.1:1\/comfy unreachable/);
  });

  it('when the answer is not JSON, compressed or bytes, then it comes back as text, unzipped or as a Buffer', async () => {
    const client = new ComfyHttp(base, 2_000);
    expect(await client.request({ url: '/text' })).toEqual({ status: 400, data: 'not json' });
    await expect(client.ok({ url: '/text' })).rejects.toBeInstanceOf(ComfyHttpError);
    expect(await client.ok({ url: '/gzip' })).toEqual({ zipped: true });
    expect(await client.ok({ url: '/brotli' })).toEqual({ brotli: true });
    expect([...(await client.ok<Buffer>({ url: '/bytes', responseType: 'arraybuffer' }))]).toEqual([0, 1, 2, 255]);
  });

  it('when an answer labelled compressed has no body, then it is an empty body, as axios read it', async () => {
    const client = new ComfyHttp(base, 2_000);
    expect(await client.request({ url: '/gzip-empty' })).toEqual({ status: 200, data: '' });
    expect(await client.request({ url: '/br-empty-chunked' })).toEqual({ status: 200, data: '' });
    expect((await client.ok<Buffer>({ url: '/gzip-empty', responseType: 'arraybuffer' })).length).toBe(0);
  });

  it('when a body labelled gzip (or br) is not (plain text, a cut stream), then it is a ComfyHttpError naming the encoding, not unreachable; a 5xx stays unreachable', async () => {
    const client = new ComfyHttp(base, 2_000);
    const plain = await client.ok({ url: '/gzip-plain' }).catch((e) => e);
    expect(plain).toBeInstanceOf(ComfyHttpError);
    expect(plain).toMatchObject({ status: 200, method: 'GET', path: '/gzip-plain' });
    expect(plain.message).toBe(`ComfyUI at ${base} answered GET /gzip-plain with a body that is not gzip as its Content-Encoding says (incorrect header check)`);
    await expect(client.ok({ url: '/gzip-cut', responseType: 'arraybuffer' })).rejects.toMatchObject({
      name: 'ComfyHttpError',
      message: `ComfyUI at ${base} answered GET /gzip-cut with a body that is not gzip as its Content-Encoding says (unexpected end of file)`,
    });
    await expect(client.ok({ url: '/br-plain' })).rejects.toMatchObject({ name: 'ComfyHttpError', message: `ComfyUI at ${base} answered GET /br-plain with a body that is not br as its Content-Encoding says (Decompression failed)` });
    await expect(client.ok({ url: '/gzip-502' })).rejects.toMatchObject({ name: 'ComfyUnreachableError', status: 502, message: `ComfyUI at ${base} answered 502 to GET /gzip-502` });
    // The connection of an answer given up is not left busy: the next request is answered.
    expect(await client.ok({ url: '/gzip' })).toEqual({ zipped: true });
  });

  it('when ComfyUI answers 5xx, is too slow or is not there, then ComfyUnreachableError says which', async () => {
    const client = new ComfyHttp(base, 200);
    await expect(client.ok({ url: '/boom' })).rejects.toMatchObject({ name: 'ComfyUnreachableError', status: 500 });
    const asked = Date.now();
    await expect(client.ok({ url: '/slow' })).rejects.toThrow(/unreachable \(GET \/slow: ECONNABORTED\)/);
    expect(Date.now() - asked).toBeLessThan(800); // the answer comes after 1 s; undici's own timeouts could fire that late
    // The timeout bounds the whole exchange of a JSON answer, its body too, not only until the status.
    const stalledAt = Date.now();
    await expect(client.ok({ url: '/stalled-body' })).rejects.toThrow(/unreachable \(GET \/stalled-body: ECONNABORTED\)/);
    expect(Date.now() - stalledAt).toBeLessThan(3_000); // it was never cut: the request hung for good
    const gone = new ComfyHttp('http://127.0.0.1:1', 2_000);
    await expect(gone.ok({ url: '/prompt' })).rejects.toThrow(/unreachable \(GET \/prompt: ECONNREFUSED\)/);
  });

  it('when ComfyUI does not answer in time, then the ComfyUnreachableError says it timed out; refused or a 5xx, it does not', async () => {
    const failure = (request: Promise<unknown>) => request.then(() => undefined, (error: unknown) => error as ComfyUnreachableError);
    const client = new ComfyHttp(base, 200);
    const slow = await failure(client.ok({ url: '/slow' }));
    const boom = await failure(client.ok({ url: '/boom' }));
    const refused = await failure(new ComfyHttp('http://127.0.0.1:1', 2_000).ok({ url: '/prompt' }));
    expect([slow, boom, refused].map((error) => [error instanceof ComfyUnreachableError, error?.timedOut])).toEqual([
      [true, true],
      [true, false],
      [true, false],
    ]);
  });

  it('when an image is uploaded as FormData, then it arrives as multipart with its boundary, its file name and its bytes', async () => {
    const client = new ComfyHttp(base, 2_000);
    const form = new FormData();
    form.append('image', new Blob([Buffer.from('PNG-BYTES')]), 'kai.png');
    form.append('overwrite', 'true');
    await client.ok({ method: 'post', url: '/upload/image', data: form });
    const [upload] = seen;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(upload.contentType ?? '')?.[1];
    expect(boundary).toBeDefined();
    expect(upload.body).toContain(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="kai.png"`);
    expect(upload.body).toContain('\r\n\r\nPNG-BYTES\r\n');
    expect(upload.body).toContain(`name="overwrite"\r\n\r\ntrue\r\n--${boundary}--`);
  });

  it("when axios's own checks apply (validateStatus, maxContentLength), then the adapter keeps them", async () => {
    const strict = axios.create({ adapter: undiciAdapter(base), timeout: 2_000 });
    const refused = await strict.get('/missing').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AxiosError);
    expect(refused).toMatchObject({ code: 'ERR_BAD_REQUEST', response: { status: 404, data: { error: 'none' } } });
    const bounded = axios.create({ adapter: undiciAdapter(base), maxContentLength: 3, responseType: 'arraybuffer' });
    await expect(bounded.get('/bytes')).rejects.toThrow('maxContentLength size of 3 exceeded');
    expect((await bounded.get('/bytes', { maxContentLength: 4 })).data).toEqual(Buffer.from([0, 1, 2, 255]));
  });
});
