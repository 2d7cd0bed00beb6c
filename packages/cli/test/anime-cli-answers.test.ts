import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '@anime/stack';

// What the compiled CLI makes of answers the real gateway does not give but a machine at --url may
// (a proxy's page, an endless body), and of its own output going into a pipe: a local HTTP server
// stands where the gateway would.

const CLI = path.join(REPO_ROOT, 'packages/cli/dist/anime.js');

jest.setTimeout(60_000);

/** Runs the CLI with stdout and stderr piped (as `anime … | jq` has them); never throws. */
function anime(url: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--url', url, ...args], { env: { ...process.env, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // A CLI still running after 20 s is stopped: the test then fails on its exit code, not on jest's timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('anime CLI and what answers at --url', () => {
  let server: Server;
  let url: string;
  let answer: (request: IncomingMessage, response: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((request, response) => answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('when --json output far larger than a pipe holds goes into a pipe, then all of it arrives: one valid JSON document', async () => {
    // 300 generations' worth (~1.5 MB); a process exiting before the pipe took it all left the first 64 KiB.
    const items = Array.from({ length: 300 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, status: 'completed', prompt: 'x'.repeat(5000), assets: [] }));
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items, nextCursor: null }));
    const result = await anime(url, '--json', 'jobs');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.length).toBeGreaterThan(1_000_000);
    expect(JSON.parse(result.stdout)).toEqual({ items, nextCursor: null });
  });

  describe('character --versions over a paged version list', () => {
    const CHARACTER_ID = '00000000-0000-4000-8000-000000000001';
    const version = (number: number) => ({ number, definition: { displayName: 'Kai', outfits: [{ name: 'jacket', prompt: 'red' }] }, attributes: { take: number }, note: `edit ${number}`, createdAt: '2026-11-30T10:00:00.000Z' });
    /** A gateway holding `count` versions, answering pages of `limit` (default 50, at most 200) after `cursor`; it records what was asked. */
    function gatewayWith(count: number, asked: string[], options: { nextCursor?: (last: number) => unknown } = {}) {
      return (request: IncomingMessage, response: ServerResponse) => {
        const url = new URL(request.url ?? '/', 'http://gateway');
        const send = (body: unknown) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (url.pathname === '/api/v1/characters/kai') return send({ id: CHARACTER_ID, slug: 'kai', name: 'Kai', archived: false, currentVersion: version(count), versionCount: count, references: [] });
        asked.push(`${url.pathname}${url.search}`);
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const after = Number(url.searchParams.get('cursor') ?? 0);
        const items = Array.from({ length: Math.max(0, Math.min(limit, count - after)) }, (_, i) => version(after + i + 1));
        const last = items.at(-1)?.number ?? after;
        send({ items, nextCursor: last < count ? (options.nextCursor ?? String)(last) : null });
      };
    }

    it('when the character has more versions than a page, then the table and --json hold every one, the pages asked for by their cursors', async () => {
      const asked: string[] = [];
      answer = gatewayWith(120, asked);
      const table = await anime(url, 'character', 'kai', '--versions');
      expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: '' });
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^VERSION +CREATED +ATTRIBUTES +OUTFITS +NOTE$/);
      expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual(Array.from({ length: 120 }, (_, i) => String(i + 1)));
      expect(lines.at(-1)).toMatch(/^120 \* +2026-11-30T10:00:00.000Z +1 +1 +edit 120$/);
      expect(asked).toEqual(Array.from({ length: 8 }, (_, i) => `/api/v1/characters/kai/versions?limit=16${i ? `&cursor=${i * 16}` : ''}`));

      const json = await anime(url, '--json', 'character', 'kai', '--versions');
      expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: '' });
      expect(json.stdout).toBe(`${JSON.stringify({ items: Array.from({ length: 120 }, (_, i) => version(i + 1)), nextCursor: null }, null, 2)}\n`);
    });

    it('when the character has few versions, then the output is the one page as the API answers it, as before', async () => {
      for (const count of [1, 3, 16]) {
        const asked: string[] = [];
        answer = gatewayWith(count, asked);
        const json = await anime(url, '--json', 'character', 'kai', '--versions');
        expect({ count, code: json.code, stdout: json.stdout }).toEqual({ count, code: 0, stdout: `${JSON.stringify({ items: Array.from({ length: count }, (_, i) => version(i + 1)), nextCursor: null }, null, 2)}\n` });
        expect(asked).toEqual(['/api/v1/characters/kai/versions?limit=16']);
      }
      answer = gatewayWith(0, []);
      expect((await anime(url, '--json', 'character', 'kai', '--versions')).stdout).toBe(`${JSON.stringify({ items: [], nextCursor: null }, null, 2)}\n`);
      expect((await anime(url, 'character', 'kai', '--versions')).stdout).toBe('(none)\n');
    });

    it('when every version is as large as the gateway lets one be, then --versions still lists them all: no page it asks for is larger than an answer the CLI reads', async () => {
      // A definition of 1 MiB as JSON (the most the gateway stores) and 200 attributes of 2,000
      // characters, each written by JSON as 6 bytes (\u0001): ~3.4 MB a version as the gateway answers it.
      const control = (length: number) => '\u0001'.repeat(length);
      const definition = { displayName: 'Kai', appearance: { distinguishingFeatures: Array.from({ length: 50 }, () => control(2000)) }, personality: Array.from({ length: 37 }, () => control(2000)) };
      const attributes = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a${String(i).padStart(3, '0')}_${'k'.repeat(95)}`, control(2000)]));
      const rest = JSON.stringify({ definition, attributes, note: null, createdAt: '2026-11-30T10:00:00.000Z' }).slice(1);
      expect(Buffer.byteLength(JSON.stringify(definition))).toBeLessThanOrEqual(1024 * 1024);
      const count = 20;
      const asked: string[] = [];
      answer = (request, response) => {
        const url = new URL(request.url ?? '/', 'http://gateway');
        if (url.pathname === '/api/v1/characters/kai') {
          return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: CHARACTER_ID, slug: 'kai', name: 'Kai', archived: false, currentVersion: version(count), versionCount: count, references: [] }));
        }
        asked.push(`${url.pathname}${url.search}`);
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const after = Number(url.searchParams.get('cursor') ?? 0);
        const numbers = Array.from({ length: Math.max(0, Math.min(limit, count - after)) }, (_, i) => after + i + 1);
        // Written a version at a time, as the gateway streams a page.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"items":[');
        numbers.forEach((number, i) => response.write(`${i ? ',' : ''}{"number":${number},${rest}`));
        const last = numbers.at(-1) ?? after;
        response.end(`],"nextCursor":${last < count ? JSON.stringify(String(last)) : 'null'}}`);
      };
      const table = await anime(url, 'character', 'kai', '--versions');
      expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: '' });
      expect(table.stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/ +/)[0])).toEqual(Array.from({ length: count }, (_, i) => String(i + 1)));
      expect(asked.length).toBeGreaterThan(1);
    });

    it('when a page fails midway (a 503 on page 2, a connection cut on page 3), then --json prints no list document, only what a failed command prints, and the table nothing; exit 1 saying why', async () => {
      const refusal = { error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } };
      const failing = (cursor: string, fail: (response: ServerResponse) => void) => {
        const pages = gatewayWith(120, []);
        return (request: IncomingMessage, response: ServerResponse) => (new URL(request.url ?? '/', 'http://gateway').searchParams.get('cursor') === cursor ? fail(response) : pages(request, response));
      };
      answer = failing('16', (response) => response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end(JSON.stringify(refusal)));
      const refused = await anime(url, '--json', 'character', 'kai', '--versions');
      expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: 'anime: 503 database_unavailable: the database is unavailable; try again shortly (retry after 5 s)\n' });
      // The gateway's error body alone, as --json prints any refusal: no half list before it.
      expect(JSON.parse(refused.stdout)).toEqual(refusal);

      answer = failing('32', (response) => response.socket?.destroy());
      const cut = await anime(url, '--json', 'character', 'kai', '--versions');
      expect({ code: cut.code, stdout: cut.stdout }).toEqual({ code: 1, stdout: '' });
      expect(cut.stderr).toMatch(/^anime: cannot reach the gateway at .*\n$/);
      const table = await anime(url, 'character', 'kai', '--versions');
      expect({ code: table.code, stdout: table.stdout }).toEqual({ code: 1, stdout: '' });
    });

    it('when what answers at --url hands back a cursor that does not move on, then the CLI stops with exit 1 instead of asking forever', async () => {
      const asked: string[] = [];
      answer = gatewayWith(120, asked, { nextCursor: () => '1' });
      const result = await anime(url, 'character', 'kai', '--versions');
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
      expect(result.stderr).toMatch(/^anime: the version list's nextCursor "1" does not follow the previous page .*is --url the gateway\?\n$/);
      expect(asked.length).toBeLessThanOrEqual(2);
    });
  });

  it('when the output cannot be written (stdout on a full disk, /dev/full), then the CLI says so and exits 1, not 0', async () => {
    answer = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [], nextCursor: null }));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, '--url', url, '--json', 'jobs'], { env: { ...process.env, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent' }, stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 1, stderr: 'anime: cannot write the output (ENOSPC)\n' });
  });

  it('when a 2xx answer is not JSON (a page of HTML, an empty body), then it is a failure naming it, exit 1, and --json prints no made-up document', async () => {
    for (const [type, body] of [['text/html', '<!doctype html>\n<html><body>Studio portal</body></html>'], ['text/plain', '']]) {
      answer = (_request, response) => response.writeHead(200, { 'content-type': type }).end(body);
      // The table and --json, side by side against the same answer.
      const modes = [[], ['--json']];
      const results = await Promise.all(modes.map((json) => anime(url, ...json, 'jobs')));
      modes.forEach((json, i) => {
        const result = results[i];
        expect({ type, json, code: result.code, stdout: result.stdout }).toEqual({ type, json, code: 1, stdout: '' });
        expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^anime: 200 from ${url} is not the gateway's JSON \\(${type}\\): `))]);
      });
    }
  });

  it('when a 2xx JSON answer is not of the gateway\'s shape (`{}` for a list, an item without its fields), then the one line says so, not a JavaScript error', async () => {
    // Each command asks its own path: one server answers each its body, and the four run side by side.
    const cases = [
      [['backends'], '/api/v1/backends', {}],
      [['queues'], '/api/v1/queues', { items: null }],
      [['assets'], '/api/v1/assets', { items: [{}], nextCursor: null }],
      [['character', 'kai'], '/api/v1/characters/kai', { items: [] }],
    ] as const;
    // Any other path is answered 404, which no case expects.
    answer = (request, response) => {
      const pathname = new URL(request.url ?? '/', 'http://gateway').pathname;
      const body = cases.find(([, path]) => path === pathname)?.[2];
      if (!body) return void response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: pathname } }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const results = await Promise.all(cases.map(([args]) => anime(url, ...args)));
    cases.forEach(([args], i) => {
      const result = results[i];
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 1, stderr: expect.stringMatching(/^anime: the answer is not what this command expects from the gateway \(.+\); is --url the gateway\?\n$/) });
    });
  });

  it('when an error answer has no body, then --json prints the error as a document of the API\'s shape, not null', async () => {
    answer = (_request, response) => response.writeHead(500).end();
    const result = await anime(url, '--json', 'jobs');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'http_500', message: 'Internal Server Error' } });
    expect(result.stderr).toBe('anime: 500 http_500: Internal Server Error\n');
  });

  it('when the gateway answers 503 or 429 with Retry-After, then the one line says when to try again', async () => {
    answer = (_request, response) =>
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' }).end(JSON.stringify({ error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } }));
    const result = await anime(url, 'jobs');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: 'anime: 503 database_unavailable: the database is unavailable; try again shortly (retry after 5 s)\n' });
  });

  it('when an error answer never ends, then the CLI reads only its start and exits 1 at once', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    answer = (_request, response) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      const more = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', more);
      };
      more();
    };
    const started = Date.now();
    const result = await anime(url, 'jobs');
    expect({ code: result.code, first: result.stderr.split('\n')[0].slice(0, 30) }).toEqual({ code: 1, first: 'anime: 502 not_json: xxxxxxxxx' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
