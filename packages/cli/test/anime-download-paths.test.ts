import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@anime/stack';

// Where `anime download` writes. `-o` with a name longer than a file system takes (255 bytes) is said
// at once, exit 2, before the gateway is asked anything (it used to fetch the whole file, then fail
// with ENAMETOOLONG); and `pnpm anime download` typed in a subdirectory writes there, not at the
// repository's root where pnpm runs the script. A local HTTP server stands where the gateway would
// and records what it was asked.

const CLI = path.join(REPO_ROOT, 'packages/cli/dist/anime.js');
const ASSET_ID = '00000000-0000-4000-8000-0000000000a1';
const FILE = Buffer.from('not really a png, but the bytes the asset says');

jest.setTimeout(60_000);

describe('anime download: where the file goes', () => {
  let server: Server;
  let url: string;
  let work: string;
  const asked: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      asked.push(`${request.method} ${request.url}`);
      if (request.url === `/api/v1/assets/${ASSET_ID}`) {
        const asset = { id: ASSET_ID, path: 'demo/ep01/sc001/kai/kai_v1_x_01.png', sha256: createHash('sha256').update(FILE).digest('hex'), bytes: FILE.length };
        return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(asset));
      }
      if (request.url === `/api/v1/assets/${ASSET_ID}/file`) return response.writeHead(200, { 'content-type': 'image/png' }).end(FILE);
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    work = await mkdtemp(path.join(tmpdir(), 'anime-download-name-'));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });

  function anime(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return animeWith({ cwd: work }, ...args);
  }

  function animeWith(options: { cwd: string; env?: NodeJS.ProcessEnv }, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, npm_lifecycle_event: undefined, INIT_CWD: undefined, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent', ...options.env };
    return new Promise((resolve) => {
      execFile(process.execPath, [CLI, '--url', url, ...args], { cwd: options.cwd, env }, (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it.each([
    ['a file name of 256 bytes', 'k'.repeat(252) + '.png', []],
    ['a file name of 256 bytes in UTF-8 (128 two-byte letters)', 'é'.repeat(128), []],
    ['the same with --force', 'k'.repeat(252) + '.png', ['--force']],
    ['a directory name of 300 bytes on the way', path.join('d'.repeat(300), 'kai.png'), []],
  ])('when -o holds %s, then it exits 2 saying names are at most 255 bytes, and nothing is asked of the gateway nor written', async (_case, output, extra) => {
    asked.length = 0;
    const result = await anime('download', ASSET_ID, '-o', output, ...extra);
    expect({ code: result.code, stdout: result.stdout, asked }).toEqual({ code: 2, stdout: '', asked: [] });
    expect(result.stderr).toContain('a file or directory name is at most 255 bytes, and one in -o has ');
    expect(await readdir(work)).toEqual([]);
  });

  it('when -o names a file of exactly 255 bytes, then the file is fetched and written as before', async () => {
    asked.length = 0;
    const name = 'é'.repeat(127) + 'k';
    const result = await anime('download', ASSET_ID, '-o', name);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(asked).toEqual([`GET /api/v1/assets/${ASSET_ID}`, `GET /api/v1/assets/${ASSET_ID}/file`]);
    expect(await readFile(path.join(work, name))).toEqual(FILE);
    await rm(path.join(work, name));
  });

  it('when run as `pnpm anime` typed in another directory (pnpm runs it at the root, naming that directory in INIT_CWD), then the file lands where it was typed, by default and with a relative -o', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'anime-download-root-'));
    const typedIn = path.join(work, 'shots');
    await mkdir(typedIn);
    try {
      const asPnpm = { cwd: root, env: { npm_lifecycle_event: 'anime', INIT_CWD: typedIn } };
      const byDefault = await animeWith(asPnpm, 'download', ASSET_ID);
      expect({ code: byDefault.code, stderr: byDefault.stderr }).toEqual({ code: 0, stderr: '' });
      const relative = await animeWith(asPnpm, 'download', ASSET_ID, '-o', 'take-2.png');
      expect({ code: relative.code, stderr: relative.stderr }).toEqual({ code: 0, stderr: '' });
      expect({ typedIn: (await readdir(typedIn)).sort(), root: await readdir(root) }).toEqual({ typedIn: ['kai_v1_x_01.png', 'take-2.png'], root: [] });
      expect(await readFile(path.join(typedIn, 'take-2.png'))).toEqual(FILE);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(typedIn, { recursive: true, force: true });
    }
  });
});
