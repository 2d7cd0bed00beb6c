import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { Axios, AxiosHeaders } from 'axios';
import { ComfyHttp, type ComfyRequest } from '../src/http/comfy-http';
import { undiciAdapter } from '../src/http/undici-adapter';

/** What a ComfyUI stand-in saw of each request: method, path, the headers axios used to set, the body. */
interface Seen {
  method?: string;
  url?: string;
  accept?: string;
  contentType?: string;
  body: string;
}

describe('ComfyHttp without axios.request in front of its adapter', () => {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const contentType = req.headers['content-type']?.replace(/boundary=.*/, 'boundary=(any)');
        seen.push({ method: req.method, url: req.url, accept: req.headers.accept, contentType, body: contentType?.startsWith('multipart/') ? `${body.length > 0}` : body });
        if (req.url!.startsWith('/late')) return void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"late":true}'), 50);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"v":NaN}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (seen.length = 0));
  afterEach(() => jest.restoreAllMocks());

  const form = () => {
    const data = new FormData();
    data.append('image', new Blob([Buffer.from([1, 2, 3])], { type: 'image/png' }), 'a.png');
    return data;
  };
  const requests = (): ComfyRequest[] => [
    { method: 'post', url: '/prompt', data: { prompt: { x: 1 }, client_id: 'c' } },
    { method: 'post', url: '/interrupt' },
    { method: 'post', url: '/text', data: 'plain' },
    { method: 'get', url: '/history/p1', params: { max_items: '2' } },
    { method: 'post', url: '/upload/image', data: form() },
  ];

  it('when it sends requests, then the server sees the method, path, Accept, Content-Type and body axios sent, and no axios.request runs', async () => {
    const viaAxios = axios.create({ adapter: undiciAdapter(base), timeout: 2_000, validateStatus: () => true });
    for (const request of requests()) await viaAxios.request(request);
    const before = seen.splice(0);
    const pipeline = jest.spyOn(Axios.prototype, 'request');
    const client = new ComfyHttp(base, 2_000);
    for (const request of requests()) await client.request(request);
    expect(pipeline).not.toHaveBeenCalled();
    expect(seen).toEqual(before);
    expect(seen.map((s) => s.contentType)).toEqual(['application/json', 'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', undefined, 'multipart/form-data; boundary=(any)']);
  });

  it("when axios calls the adapter, then the answer's headers still reach its caller as AxiosHeaders", async () => {
    const answer = await axios.create({ adapter: undiciAdapter(base) }).get('/history');
    expect(answer.headers).toBeInstanceOf(AxiosHeaders);
    expect((answer.headers as AxiosHeaders).get('Content-Type')).toBe('application/json');
  });

  it("when the answer is JSON with Python's NaN, then it is parsed as before", async () => {
    expect(await new ComfyHttp(base, 2_000).ok({ url: '/history' })).toEqual({ v: null });
  });

  it('when its signal aborts while the answer is on its way, then the request rejects with the reason even if the answer comes', async () => {
    const controller = new AbortController();
    const reason = new Error('job canceled');
    const pending = new ComfyHttp(base, 2_000).ok({ url: '/late', signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    await expect(pending).rejects.toBe(reason);
    await expect(new ComfyHttp(base, 2_000).ok({ url: '/late', signal: controller.signal })).rejects.toBe(reason);
  });
});
