import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from '../../../test/e2e/stack-fixture';
import { mapAtMost } from './at-most';

// The commands of a studio artist (character, assets, download) and of an operator (drain, undrain,
// pause, resume, webhooks, deliveries), against the real stack as anime-cli.test.ts runs it.

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'packages/cli/dist/anime.js');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

jest.setTimeout(120_000);

describe('anime CLI: characters, the library and operations, against the real stack', () => {
  let fx: StackFixture;
  let work: string;
  let receiver: Server;
  let receiverUrl: string;
  /** One completed generation's asset. */
  let asset: { id: string; path: string; sha256: string; bytes: number; character: { version: number } };

  beforeAll(async () => {
    // A local webhook receiver: WEBHOOK_ALLOW lets the gateway call 127.0.0.1.
    receiver = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    fx = await startStackFixture('anime-cli-library', { simulatorStepMs: 10, extraEnv: { WEBHOOK_ALLOW: '127.0.0.1' } });
    work = await mkdtemp(path.join(tmpdir(), 'anime-cli-library-'));
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'for the library', width: 64, height: 64, steps: 2, project: 'library' });
    expect(created.status).toBe(202);
    const ended = await waitForGenerationEnd(fx, created.data.id);
    expect(ended.status).toBe('completed');
    asset = ended.assets[0];
  });

  afterAll(async () => {
    await fx?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs the compiled CLI as a user would (in `cwd`, the test's directory by default); never throws. */
  async function anime(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return animeIn(work, ...args);
  }

  async function animeIn(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, ANIME_URL: fx.stack.gatewayUrl, ANIME_CONFIG_DIR: '/nonexistent', ANIME_API_KEY: fx.apiKey };
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, cwd });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('when a character is asked for by slug or id, then its current version, attributes and references are shown; --versions lists its versions; an unknown one exits 1 with the API message', async () => {
    const [shown, shownJson, unknown] = await Promise.all([anime('character', 'kai-nakamura'), anime('--json', 'character', 'kai-nakamura'), anime('character', 'nobody-here')]);
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^slug +kai-nakamura$/m);
    expect(shown.stdout).toMatch(/^version +\d+ of \d+, /m);
    expect(shown.stdout).toMatch(/^display +\S/m);
    expect(shown.stdout).toMatch(/^attributes:\n(KEY +VALUE|\(none\))$/m);
    expect(shown.stdout).toMatch(/^references:\n(ID +LABEL +KIND +SIZE +BYTES +MIME +MISSING|\(none\))$/m);
    const json = JSON.parse(shownJson.stdout);
    expect(json).toMatchObject({ slug: 'kai-nakamura', currentVersion: { number: json.versionCount }, references: expect.any(Array) });
    expect(shown.stdout).toContain(`\nversion    ${json.versionCount} of ${json.versionCount}, `);
    // By id, with one more version: --versions lists them all, oldest first, and marks the current one.
    const next = json.versionCount + 1;
    expect((await fx.api.post('/api/v1/characters/kai-nakamura/versions', { basedOn: json.versionCount, patch: { definition: { description: 'next' } }, note: 'the next' })).status).toBe(201);
    const [versions, versionsJson] = await Promise.all([anime('character', json.id, '--versions'), anime('--json', 'character', 'kai-nakamura', '--versions')]);
    expect({ code: versions.code, stderr: versions.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = versions.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION +CREATED +ATTRIBUTES +OUTFITS +NOTE$/);
    expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual(Array.from({ length: next }, (_, i) => String(i + 1)));
    expect(lines.at(-1)).toMatch(new RegExp(`^${next} \\* +\\S+Z +\\d+ +\\d+ +the next$`));
    expect(JSON.parse(versionsJson.stdout).items.map((v: { number: number }) => v.number)).toHaveLength(next);
    expect({ code: unknown.code, stdout: unknown.stdout }).toEqual({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^anime: 404 \w+: .*nobody-here.*\n$/);
  });

  it('when a reference file is deleted from the library, then the generation needing it fails with reference_unavailable and `anime character` shows it missing; uploading the image again clears it', async () => {
    const image = await readFile(path.join(REPO_ROOT, 'services/character/fixtures/legacy/images/sakura.png'));
    const row = await fx.db.characterReference.findFirstOrThrow({ where: { character: { slug: 'kai-nakamura' }, sha256: sha256(image), detachedAt: null } });
    const missingOf = async () => JSON.parse((await anime('--json', 'character', 'kai-nakamura')).stdout).references.find((r: { id: string }) => r.id === row.id).missing;
    expect(await missingOf()).toBe(false);
    await rm(path.join(fx.libraryDir, row.path));
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'without its face', width: 64, height: 64, steps: 2 });
    expect(created.status).toBe(202);
    const ended = await waitForGenerationEnd(fx, created.data.id);
    expect({ status: ended.status, code: ended.error?.code }).toEqual({ status: 'failed', code: 'reference_unavailable' });
    expect(await missingOf()).toBe(true);
    expect((await anime('character', 'kai-nakamura')).stdout).toMatch(new RegExp(`^${row.id} .* true$`, 'm'));

    const form = new FormData();
    form.set('label', row.label);
    form.set('file', new Blob([image], { type: 'image/png' }), 'sakura.png');
    const again = await fx.api.post('/api/v1/characters/kai-nakamura/references', form);
    expect({ status: again.status, id: again.data.id, missing: again.data.missing }).toEqual({ status: 200, id: row.id, missing: false });
    expect(sha256(await readFile(path.join(fx.libraryDir, row.path)))).toBe(row.sha256);
    expect(await missingOf()).toBe(false);
  });

  it('when the library is listed, then each file shows its path and sha256, filters narrow it, and a page past --limit hints the next', async () => {
    const [listed, elsewhere, listedJson] = await Promise.all([
      anime('assets', '--project', 'library', '--character', 'kai-nakamura', '--version', String(asset.character.version)),
      anime('assets', '--project', 'elsewhere'),
      anime('--json', 'assets', '--project', 'library'),
    ]);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
    const [header, row] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +CHARACTER +SIZE +BYTES +CREATED +PATH +SHA256$/);
    expect(row.split(/ +/)).toEqual([asset.id, `kai-nakamura@${asset.character.version}`, '64x64', String(asset.bytes), expect.any(String), asset.path, asset.sha256]);
    expect(elsewhere.stdout).toBe('(none)\n');
    const json = JSON.parse(listedJson.stdout);
    expect(json).toEqual({ items: [expect.objectContaining({ id: asset.id, path: asset.path, sha256: asset.sha256 })], nextCursor: null });
    // A second file: --limit 1 leaves one for the next page.
    const second = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'another', width: 64, height: 64, steps: 1, project: 'library' });
    expect((await waitForGenerationEnd(fx, second.data.id)).status).toBe('completed');
    const first = await anime('assets', '--project', 'library', '--limit', '1');
    expect(first.stderr).toMatch(/^more assets past --limit 1: add --cursor [0-9a-f-]{36} \(same filters\) for the next page/);
  });

  it('when an asset is downloaded, then its file is written whole and verified, an existing file is kept unless --force, and a file that is not the one the API reports is not kept', async () => {
    const library = await readFile(path.join(fx.libraryDir, asset.path));
    // By default: its library file name, in the current directory.
    const saved = await anime('download', asset.id);
    const name = path.basename(asset.path);
    expect({ code: saved.code, stderr: saved.stderr, stdout: saved.stdout }).toEqual({ code: 0, stderr: '', stdout: `${name}  ${asset.bytes} bytes, sha256 ${asset.sha256} verified\n` });
    expect(sha256(await readFile(path.join(work, name)))).toBe(asset.sha256);
    expect(await readFile(path.join(work, name))).toEqual(library);
    // An existing file: refused (exit 1), left as it was; --force replaces it.
    await writeFile(path.join(work, name), 'mine');
    const refused = await anime('download', asset.id);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 1, stderr: `anime: ${name} exists; --force overwrites it\n` });
    expect(await readFile(path.join(work, name), 'utf8')).toBe('mine');
    expect((await anime('download', asset.id, '--force')).code).toBe(0);
    expect(sha256(await readFile(path.join(work, name)))).toBe(asset.sha256);
    // -o: a file, or a directory to put it in; --json says where it went.
    const json = await anime('--json', 'download', asset.id, '-o', 'copy.png');
    expect(JSON.parse(json.stdout)).toEqual({ id: asset.id, file: path.join(work, 'copy.png'), bytes: asset.bytes, sha256: asset.sha256 });
    const into = await mkdtemp(path.join(work, 'into-'));
    expect((await anime('download', asset.id, '-o', into)).code).toBe(0);
    expect(await readdir(into)).toEqual([name]);
    // The library's file changed behind the API's back (same size, other bytes): the download fails naming
    // both checksums, and nothing is left, neither the target nor a partial file.
    await writeFile(path.join(fx.libraryDir, asset.path), Buffer.alloc(library.length, 7));
    try {
      const before = await readdir(work);
      const corrupt = await anime('download', asset.id, '-o', 'corrupt.png');
      expect(corrupt.code).toBe(1);
      expect(corrupt.stderr).toMatch(new RegExp(`^anime: the file received \\(${asset.bytes} bytes, sha256 [0-9a-f]{64}\\) is not asset ${asset.id} \\(${asset.bytes} bytes, sha256 ${asset.sha256}\\); nothing kept\\n$`));
      expect(await readdir(work)).toEqual(before);
      // With --force, the file already there survives a failed download.
      expect((await anime('download', asset.id, '--force')).code).toBe(1);
      expect(sha256(await readFile(path.join(work, name)))).toBe(asset.sha256);
    } finally {
      await writeFile(path.join(fx.libraryDir, asset.path), library);
    }
    // The file gone from the library: the gateway's 410, and no empty file left behind.
    await rm(path.join(fx.libraryDir, asset.path));
    try {
      const gone = await anime('download', asset.id, '-o', 'gone.png');
      expect({ code: gone.code, stderr: gone.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^anime: 410 asset_file_missing: /) });
      expect(await readdir(work)).not.toContain('gone.png');
    } finally {
      await writeFile(path.join(fx.libraryDir, asset.path), library);
    }
    const unknown = await anime('download', '00000000-0000-4000-8000-000000000000');
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^anime: 404 not_found: .*asset 00000000-0000-4000-8000-000000000000/) });
  });

  it('when an operator drains and undrains a backend, or pauses and resumes a queue, then each prints it as it is now; an unknown one exits 1 with the API message', async () => {
    // The lists and the unknown names first, side by side.
    const [backends, queues, unknownBackend, unknownQueue, unknownQueueJson] = await mapAtMost(
      [['--json', 'backends'], ['--json', 'queues'], ['drain', 'no-such-backend'], ['pause', 'no-such-queue'], ['--json', 'pause', 'no-such-queue']],
      (args) => anime(...args),
      5,
    );
    const [backend] = JSON.parse(backends.stdout).items;
    const [queue] = JSON.parse(queues.stdout).items;
    expect({ code: unknownBackend.code, stderr: unknownBackend.stderr }).toEqual({ code: 1, stderr: 'anime: 404 backend_not_found: backend no-such-backend not found\n' });
    expect(unknownQueue.code).toBe(1);
    expect(unknownQueue.stderr).toMatch(new RegExp(`^anime: 404 queue_not_found: no queue "no-such-queue" \\(queues: .*\\b${queue.name}\\b.*\\)\\n$`));
    // --json: the gateway's error body on stdout.
    expect(JSON.parse(unknownQueueJson.stdout)).toMatchObject({ error: { code: 'queue_not_found' } });

    // The backend's drain and the queue's pause, one beside the other (each in its own order).
    const drainAndUndrain = async () => {
      const drained = await anime('drain', backend.id);
      expect({ code: drained.code, stderr: drained.stderr }).toEqual({ code: 0, stderr: '' });
      expect(drained.stdout).toMatch(new RegExp(`^${backend.id} draining \\(drained at \\S+\\)  busy `));
      const undrained = await anime('--json', 'undrain', backend.id);
      expect(JSON.parse(undrained.stdout)).toMatchObject({ id: backend.id, state: 'up', drainedAt: null });
    };
    const pauseAndResume = async () => {
      try {
        const paused = await anime('pause', queue.name);
        expect({ code: paused.code, stdout: paused.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^${queue.name} paused  waiting \\d+, active \\d+\\n$`)) });
        expect(JSON.parse((await anime('--json', 'queues')).stdout).items).toContainEqual(expect.objectContaining({ name: queue.name, paused: true }));
      } finally {
        const resumed = await anime('--json', 'resume', queue.name);
        expect(JSON.parse(resumed.stdout)).toMatchObject({ name: queue.name, paused: false });
      }
    };
    // Both run to their end (the queue resumed) before a failure of either is reported.
    for (const outcome of await Promise.allSettled([drainAndUndrain(), pauseAndResume()])) if (outcome.status === 'rejected') throw outcome.reason;
  });

  it('when webhooks are listed, then each endpoint shows its events and never its secret; deliveries lists the attempts to one', async () => {
    const registered = await fx.api.post('/api/v1/webhooks', { url: receiverUrl, events: ['generation.completed'] });
    expect(registered.status).toBe(201);
    const listed = await anime('webhooks');
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(new RegExp(`^ID +URL +EVENTS +PROJECTS +CREATED +DISABLED\\n${registered.data.id} +${receiverUrl} +generation.completed +all `));
    expect(listed.stdout).not.toContain(registered.data.secret);
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'heard of', width: 64, height: 64, steps: 1 });
    await waitFor(async () => (await fx.api.get(`/api/v1/webhooks/${registered.data.id}/deliveries`)).data.items.length > 0, 'a delivery', 60_000, 200);
    const [deliveries, deliveriesJson, unknown] = await Promise.all([
      anime('deliveries', registered.data.id),
      anime('--json', 'deliveries', registered.data.id),
      anime('deliveries', '00000000-0000-4000-8000-000000000000'),
    ]);
    expect({ code: deliveries.code, stderr: deliveries.stderr }).toEqual({ code: 0, stderr: '' });
    expect(deliveries.stdout).toMatch(new RegExp(`^CREATED +EVENT +GENERATION +ATTEMPT +STATUS +OK +MS +ERROR\\n\\S+ +generation.completed +${created.data.id} +1 +204 +true `));
    expect(JSON.parse(deliveriesJson.stdout)).toMatchObject({ items: [{ generationId: created.data.id, succeeded: true }], nextCursor: null });
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: 'anime: 404 not_found: webhook 00000000-0000-4000-8000-000000000000 not found\n' });
  });

  it('when a new command gets an id that is not one or an option value the gateway would refuse, then it is a usage error (exit 2) before any request; each has --help', async () => {
    const cases: [string[], RegExp][] = [
      [['character', ''], /a character is its slug or id/],
      [['character', 'k'.repeat(201)], /a character is its slug or id/],
      [['character', 'kai-nakamura', '--version'], /unknown option '--version'/],
      [['assets', '--version', '0'], /--version must be a version number/],
      [['assets', '--version', 'two'], /--version must be a version number/],
      [['assets', '--limit', '201'], /--limit must be a whole number from 1 to 200$/],
      [['assets', '--cursor', 'page-2'], /--cursor must be an id \(a UUID\)/],
      [['assets', '--shot', 's'.repeat(65)], /--shot must be at most 64 characters$/],
      [['download', 'kai.png'], /an asset id is a UUID/],
      [['download'], /missing required argument 'asset'/],
      [['drain', ' '], /a backend is named/],
      [['pause'], /missing required argument 'queue'/],
      [['deliveries', 'hook-1'], /a webhook id is a UUID/],
      [['webhooks', '--limit', '0'], /--limit must be a whole number from 1 to 200$/],
    ];
    const commands = ['character', 'assets', 'download', 'drain', 'undrain', 'pause', 'resume', 'webhooks', 'deliveries'];
    // Each its own process, a few at a time; checked in order.
    const results = await mapAtMost([...cases.map(([args]) => ['--url', 'http://127.0.0.1:1', ...args]), ...commands.map((command) => [command, '--help'])], (args) => anime(...args));
    cases.forEach(([args, message], i) => {
      const result = results[i];
      expect({ args, code: result.code, first: result.stderr.split('\n')[0], stdout: result.stdout }).toEqual({ args, code: 2, first: expect.stringMatching(message), stdout: '' });
    });
    commands.forEach((command, i) => {
      const help = results[cases.length + i];
      expect({ command, code: help.code, usage: help.stdout.startsWith(`Usage: anime ${command}`) }).toEqual({ command, code: 0, usage: true });
    });
  });
});

describe('anime download and what answers at --url', () => {
  let server: Server;
  let url: string;
  let dir: string;
  const id = '00000000-0000-4000-8000-000000000001';
  const bytes = Buffer.from('the real file');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'anime-download-'));
    // Reports a 13-byte file, then streams without end.
    server = createServer((request, response) => {
      if (!request.url!.endsWith('/file')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, path: 'p/e/s/file.png', sha256: sha256(bytes), bytes: bytes.length }));
      response.writeHead(200, { 'content-type': 'image/png' });
      const more = () => {
        while (!response.destroyed && response.write(Buffer.alloc(64 * 1024, 1)));
        if (!response.destroyed) response.once('drain', more);
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('when the file answer runs past the size the API reported (here without end), then the download stops at once, exit 1, and leaves no file', async () => {
    const started = Date.now();
    const result = await run(process.execPath, [CLI, '--url', url, 'download', id], { cwd: dir, env: { ...process.env, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent' } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result).toEqual({ code: 1, stderr: `anime: the file is larger than the ${bytes.length} bytes the API reports; nothing kept\n` });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('anime download against a server of our own: stopped, cut off, lied to', () => {
  const id = '00000000-0000-4000-8000-000000000002';
  const bytes = Buffer.alloc(64 * 1024, 3);
  let server: Server;
  let url: string;
  let dir: string;
  /** What GET /api/v1/assets/:id answers, and how its file answer goes. */
  let asset: unknown;
  let file: 'whole' | 'hang' | 'cut' | 'taken';
  let requests: string[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.url!);
      if (!request.url!.endsWith('/file')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(asset));
      if (file === 'whole') return void response.writeHead(200, { 'content-type': 'image/png' }).end(bytes);
      if (file === 'taken') {
        // Someone else writes the target while the download runs.
        void writeFile(path.join(dir, 'file.png'), 'theirs').then(() => response.writeHead(200, { 'content-type': 'image/png' }).end(bytes));
        return;
      }
      response.writeHead(200, { 'content-type': 'image/png', 'content-length': String(bytes.length) });
      response.write(bytes.subarray(0, 4096));
      // 'hang': the rest never comes; 'cut': the connection is closed mid-answer.
      if (file === 'cut') setTimeout(() => response.destroy(), 100);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'anime-download-own-'));
    asset = { id, path: 'p/e/s/file.png', sha256: sha256(bytes), bytes: bytes.length };
    file = 'whole';
    requests = [];
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const env = () => ({ ...process.env, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent' });

  async function anime(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, '--url', url, ...args], { cwd: dir, env: env() });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)('when a download is stopped by %s mid-transfer, then nothing is left: no file under its name, no partial file', async (signal, code) => {
    file = 'hang';
    const child = spawn(process.execPath, [CLI, '--url', url, 'download', id, '-o', 'out.png'], { cwd: dir, env: env(), stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    // The first bytes are on disk (in the partial file) before it is stopped.
    await waitFor(async () => (await readdir(dir)).length > 0 && requests.some((r) => r.endsWith('/file')), 'the transfer under way', 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill(signal);
    expect(await exited).toBe(code);
    expect(await readdir(dir)).toEqual([]);
  });

  it('when the asset answer has no size (or is no asset), then the download is refused before its file is asked for: an endless answer could fill the disk', async () => {
    for (const answer of [{ id, path: 'p/file.png', sha256: sha256(bytes) }, { id, path: 'p/file.png', sha256: sha256(bytes), bytes: '65536' }, { id, sha256: sha256(bytes), bytes: bytes.length }, []]) {
      asset = answer;
      requests = [];
      const result = await anime('download', id);
      expect({ answer, code: result.code, stderr: result.stderr, requests }).toEqual({
        answer,
        code: 1,
        stderr: `anime: the answer for asset ${id} is not an asset (its id, path, size and sha256); is --url the gateway?\n`,
        requests: [`/api/v1/assets/${id}`],
      });
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('when the library file name is hidden (.bashrc) or longer than a file name may be, then it is saved as asset-<id>, and nothing else is left', async () => {
    for (const name of ['.bashrc', `${'x'.repeat(250)}.png`, `${'x'.repeat(300)}.png`]) {
      asset = { id, path: `p/e/s/${name}`, sha256: sha256(bytes), bytes: bytes.length };
      const result = await anime('download', id);
      expect({ name: name.slice(0, 20), code: result.code, stderr: result.stderr }).toEqual({ name: name.slice(0, 20), code: 0, stderr: '' });
      const saved = Buffer.byteLength(name) <= 255 && !name.startsWith('.') ? name : `asset-${id}`;
      expect(await readdir(dir)).toEqual([saved]);
      expect(sha256(await readFile(path.join(dir, saved)))).toBe(sha256(bytes));
      await rm(path.join(dir, saved));
    }
  });

  it('when the connection is cut mid-transfer, then the one line says so and nothing is kept', async () => {
    file = 'cut';
    const result = await anime('download', id, '-o', 'out.png');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(new RegExp(`^anime: the download of /api/v1/assets/${id}/file was cut off \\(.+\\)\\n$`)) });
    expect(await readdir(dir)).toEqual([]);
  });

  it('when a file appears at the target while the download runs, then it is kept and the download refused', async () => {
    file = 'taken';
    const result = await anime('download', id);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: 'anime: file.png exists; --force overwrites it\n' });
    expect(await readdir(dir)).toEqual(['file.png']);
    expect(await readFile(path.join(dir, 'file.png'), 'utf8')).toBe('theirs');
  });

  it('when -o is empty, then it is a usage error (exit 2) before any request; when it names a directory that is not there (dir/), then nothing is fetched', async () => {
    const empty = await anime('download', id, '-o', '');
    expect({ code: empty.code, first: empty.stderr.split('\n')[0], requests }).toEqual({ code: 2, first: expect.stringMatching(/-o names the file or directory to write/), requests: [] });
    const missing = await anime('download', id, '-o', 'missing/');
    expect({ code: missing.code, stderr: missing.stderr, requests }).toEqual({ code: 1, stderr: 'anime: missing/ is not a directory; nothing fetched\n', requests: [`/api/v1/assets/${id}`] });
    expect(await readdir(dir)).toEqual([]);
  });

  it('when a character, backend or queue is named . or .., then it is a usage error (exit 2) before any request: the URL would resolve to another route', async () => {
    const cases = [['character', '.'], ['--json', 'character', '..'], ['character', '.', '--versions'], ['drain', '.'], ['undrain', '..'], ['pause', '.'], ['resume', '..']];
    // Each its own process, a few at a time: none may ask the server anything.
    const results = await mapAtMost(cases, (args) => anime(...args));
    cases.forEach((args, i) => expect({ args, code: results[i].code, stdout: results[i].stdout }).toEqual({ args, code: 2, stdout: '' }));
    expect(requests).toEqual([]);
  });
});
