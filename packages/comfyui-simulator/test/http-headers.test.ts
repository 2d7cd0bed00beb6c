import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG_SIGNATURE } from '../src/images/png-decoder';
import { startSimulator, type Simulator } from '../src';
import { capture } from './helpers/captures';

/**
 * The headers of the real server's answers. Captured answers all carry aiohttp's Server banner and
 * ComfyUI's Content-Security-Policy (10_probe_view_response_meta.json, 01_get_system_stats.json).
 * Empty answers (POST /interrupt, /queue, /history) are web.Response(status=200): the captured
 * server (ComfyUI 0.8.0) on aiohttp 3.8.4 sends them with its default Content-Type,
 * application/octet-stream (aio-libs/aiohttp#4612; the default was dropped for empty bodies only by
 * PR #8858, Aug 2024); a real 0.3.64 sends no Content-Type on them (reported against 0.3.64 in issue 14).
 */
describe.each([
  ['0.8.0', 'application/octet-stream'],
  ['0.3.64', null],
] as const)('response headers of ComfyUI %s', (comfyuiVersion, emptyContentType) => {
  let sim: Simulator;
  const view = capture('10_probe_view_response_meta.json').headers;
  const stats = capture('01_get_system_stats.json').headers;

  beforeAll(async () => {
    sim = await startSimulator({ comfyuiVersion });
  });

  afterAll(() => sim.close());

  it.each([
    ['/interrupt', undefined],
    ['/interrupt', '{"prompt_id":"nobody"}'],
    ['/queue', '{"clear":true}'],
    ['/history', '{"clear":true}'],
  ])('when POST %s answers with no body, then it carries the real empty answer headers', async (path, body) => {
    const response = await fetch(`${sim.url}${path}`, { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(response.headers.get('content-length')).toBe('0');
    expect(response.headers.get('content-type')).toBe(emptyContentType);
    expect(response.headers.get('content-security-policy')).toBe(view['Content-Security-Policy']);
    expect(response.headers.get('server')).toBe(view.Server);
  });

  it('when a file is viewed, then its headers are those of web.FileResponse in 10_probe_view_response_meta.json', async () => {
    const file = join(sim.outputDir, 'headers.png');
    writeFileSync(file, PNG_SIGNATURE);
    const response = await fetch(`${sim.url}/view?filename=headers.png&subfolder=&type=output`);
    await response.arrayBuffer();
    const names = [...response.headers.keys()].filter((name) => !['connection', 'keep-alive'].includes(name)).sort();
    expect(names).toEqual(Object.keys(view).map((name) => name.toLowerCase()).sort());
    const stat = statSync(file, { bigint: true });
    expect(response.headers.get('etag')).toBe(`"${stat.mtimeNs.toString(16)}-${stat.size.toString(16)}"`);
    expect(response.headers.get('last-modified')).toBe(new Date(Number(stat.mtimeMs)).toUTCString());
    expect(response.headers.get('accept-ranges')).toBe(view['Accept-Ranges']);
  });

  it('when a JSON route answers, then its headers are those of 01_get_system_stats.json', async () => {
    const response = await fetch(`${sim.url}/system_stats`);
    const body = await response.text();
    expect(response.headers.get('content-type')).toBe(stats['Content-Type']);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(response.headers.get('content-security-policy')).toBe(stats['Content-Security-Policy']);
    expect(response.headers.get('server')).toBe(stats.Server);
  });
});
