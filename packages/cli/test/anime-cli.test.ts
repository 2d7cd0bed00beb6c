import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { characterListQuerySchema, generationListQuerySchema } from '@anime/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '@anime/stack';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { submit } from '../../../examples/external-producer';
import { startStackFixture, type StackFixture } from '../../../test/e2e/stack-fixture';
import { mapAtMost } from './at-most';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'packages/cli/dist/anime.js');
// The longest text filters the gateway takes, as its list routes declare them.
const MAX_PROJECT = generationListQuerySchema.shape.project.unwrap().maxLength!;
const MAX_CHARACTER = generationListQuerySchema.shape.character.unwrap().maxLength!;
const MAX_SEARCH = characterListQuerySchema.shape.q.unwrap().maxLength!;
const MAX_SOURCE = generationListQuerySchema.shape.source.unwrap().maxLength!;

jest.setTimeout(120_000);

describe('anime CLI against the real stack', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('anime-cli', { simulatorStepMs: 30 });
  });

  afterAll(async () => {
    await fx?.close();
  });

  /** Runs the compiled CLI as a user would, with the fixture's key in ANIME_API_KEY; never throws. */
  async function anime(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return animeWith({ ANIME_API_KEY: fx.apiKey }, ...args);
  }

  async function animeWith(extraEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, ANIME_URL: fx.stack.gatewayUrl, ANIME_CONFIG_DIR: '/nonexistent', ...extraEnv };
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  /** Holds the simulator's next node (the job stays running, whatever the load) until called with release. */
  const hang = (release: boolean) => fetch(`${fx.stack.comfyUrls[0]}/sim/hang`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ release }) });

  it('when a generation is watched, then progress lines are drawn, it exits 0 and prints where each file landed in the library', async () => {
    const result = await anime('generate', '--character', 'kai-nakamura', '--prompt', 'walking in the rain', '--width', '64', '--height', '64', '--steps', '5', '--watch');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stderr).toMatch(/^progress +\d+% \d+\/5/m);
    expect(result.stderr).toMatch(/submitted to /);
    const files = result.stdout.split('\n').filter((l) => l.startsWith('  '));
    expect(files.length).toBe(1);
    const [libraryPath] = files[0].trim().split(/\s+/);
    expect(libraryPath).toMatch(/^default\//);
    const id = /generation ([0-9a-f-]{36}) queued/.exec(result.stderr)![1];
    const shown = await anime('show', id, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, status: 'completed', assets: [{ path: libraryPath }] });
  });

  it("when a watched generation fails, then it exits 1 with ComfyUI's own message", async () => {
    // Two failing generations, watched side by side: as a table, and with --json.
    const [result, json] = await Promise.all([
      anime('generate', '-c', 'kai-nakamura', '-p', '__sim_execution_error__ please', '--width', '64', '--height', '64', '--steps', '2', '--watch'),
      anime('--json', 'generate', '-c', 'kai-nakamura', '-p', '__sim_execution_error__ again', '--width', '64', '--height', '64', '--steps', '2', '--watch'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/comfyui_execution: .+/);
    // ComfyUI's message spans several lines (the simulator's, like the real out-of-memory one): the reason stays one line.
    expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/^anime: generation [0-9a-f-]{36} failed: comfyui_execution: \S/);
    // With --json: JSON Lines, each event on a line of its own, then the failed generation once, on the last line.
    expect(json.code).toBe(1);
    const documents = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(documents.slice(0, -1).map((d) => d.name)).toContain('job:failed');
    expect(documents.at(-1)).toMatchObject({ status: 'failed', error: { code: 'comfyui_execution' } });
  });

  it('when generate is run again with the same --idempotency-key and options, then it prints the same generation and one is made; other options with the key are refused (422), a bad key is a command-line mistake', async () => {
    const args = ['generate', '-c', 'kai-nakamura', '-p', 'on a rooftop', '--width', '64', '--height', '64', '--steps', '2', '--idempotency-key', 'clé-7'];
    const first = await anime('--json', ...args);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    const again = await anime('--json', ...args);
    expect(again.code).toBe(0);
    const made = JSON.parse(first.stdout) as { id: string };
    expect(JSON.parse(again.stdout).id).toBe(made.id);
    // The key is the generation's requestId (UTF-8 text kept as written): one generation holds it.
    const listed = await anime('--json', 'jobs', '--request-id', 'clé-7');
    expect((JSON.parse(listed.stdout) as { items: { id: string }[] }).items.map((item) => item.id)).toEqual([made.id]);
    const other = await anime('generate', '-c', 'kai-nakamura', '-p', 'somewhere else', '--width', '64', '--height', '64', '--steps', '2', '--idempotency-key', 'clé-7');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^anime: 422 idempotency_key_reused: .*used for a different request/);
    for (const key of ['', 'k'.repeat(201)]) {
      const bad = await anime('generate', '-c', 'kai-nakamura', '-p', 'x', '--idempotency-key', key);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(key ? /at most 200 characters/ : /must not be empty/);
    }
  });

  it('when generate is given --references or --webhook, then they reach the REST body, and a refusal is one line naming each bad field', async () => {
    const [badMode, unregistered, several] = await Promise.all([
      anime('generate', '-c', 'kai-nakamura', '-p', 'x', '--references', 'sometimes'),
      anime('generate', '-c', 'kai-nakamura', '-p', 'x', '--references', 'auto', '--webhook', 'https://hooks.example.com/anime'),
      anime('generate', '-c', 'kai-nakamura', '-p', 'x', '--count', '99', '--width', '7'),
    ]);
    expect(badMode.code).toBe(1);
    expect(badMode.stderr).toMatch(/^anime: 400 validation_failed: .*references/);
    expect(unregistered.code).toBe(1);
    expect(unregistered.stderr).toMatch(/^anime: 400 webhook_not_registered: /);
    expect(several.code).toBe(1);
    expect(several.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(several.stderr).toMatch(/count: .*width: /);
  });

  it('when the gateway restarts during a watch, then the watch says it lost the gateway and got it back, and still ends with the files', async () => {
    // The job is held at its first node (the simulator's hang) until the watch has said it lost the
    // gateway, and ends while the gateway is away: whatever the load (a Node start and a subscribe can
    // take seconds on a loaded 2-core machine, as long as a render), the watch is still following a
    // running job when the gateway stops, and learns of the end only from the replay after it reconnects.
    const gateway = fx.stack.services.gateway!;
    expect((await hang(false)).status).toBe(200);
    const child = spawn(process.execPath, [CLI, 'generate', '-c', 'kai-nakamura', '-p', 'through a restart', '--steps', '5', '--width', '64', '--height', '64', '--watch'], {
      env: { ...process.env, ANIME_API_KEY: fx.apiKey, ANIME_URL: fx.stack.gatewayUrl, ANIME_CONFIG_DIR: '/nonexistent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(() => /^started on /m.test(stderr), 'the watched prompt to start', 60_000, 50);
      const id = /generation ([0-9a-f-]{36}) queued/.exec(stderr)![1];
      await gateway.stop();
      await waitFor(() => /^lost the gateway /m.test(stderr), 'the watch to say it lost the gateway', 30_000, 50);
      await hang(true);
      await waitFor(async () => (await fx.db.generationJob.findUnique({ where: { id } }))?.status === 'completed', 'the job to complete while the gateway is away', 60_000, 100);
      await gateway.start();
    } finally {
      await hang(true);
      if (!gateway.running) await gateway.start();
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/^lost the gateway \((transport close|transport error|ping timeout)\); reconnecting…$/m);
    expect(stderr).toMatch(/^reconnected to the gateway; catching up$/m);
    expect(stderr.indexOf('reconnected to the gateway')).toBeGreaterThan(stderr.indexOf('lost the gateway'));
    expect(stdout).toMatch(/^completed: 1 file\(s\) in the library$/m);
  }, 120_000);

  it('when a watch is interrupted (Ctrl-C), then it says the generation goes on and how to cancel it, exits 130, and the generation completes', async () => {
    // The job is held at its first node until the watch has exited: still running when Ctrl-C comes,
    // whatever the load (100 steps × 30 ms gave it 3 s, then took them to complete).
    expect((await hang(false)).status).toBe(200);
    let stderr = '';
    try {
      const child = spawn(process.execPath, [CLI, 'generate', '-c', 'kai-nakamura', '-p', 'through a ctrl-c', '--steps', '5', '--width', '64', '--height', '64', '--watch'], {
        env: { ...process.env, ANIME_API_KEY: fx.apiKey, ANIME_URL: fx.stack.gatewayUrl, ANIME_CONFIG_DIR: '/nonexistent' },
      });
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await waitFor(() => /^started on /m.test(stderr), 'the watched prompt to start', 60_000, 50);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      await hang(true);
    }
    const id = /generation ([0-9a-f-]{36}) queued/.exec(stderr)![1];
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(`anime: stopped following ${id}; the generation goes on (anime show ${id}; anime cancel ${id} stops it)`);
    await waitFor(async () => (await fx.api.get(`/api/v1/generations/${id}`)).data.status === 'completed', 'the generation to complete without its watcher', 60_000, 200);
  });

  it('when the reader of a --json --watch goes away (| head -1), then the CLI ends quietly with 141, as SIGPIPE ends other programs, and the job runs on', async () => {
    // 100 steps × 30 ms: events keep coming after the reader is gone.
    const child = spawn(process.execPath, [CLI, '--json', 'generate', '-c', 'kai-nakamura', '-p', 'into a closed pipe', '--steps', '100', '--width', '64', '--height', '64', '--watch'], {
      env: { ...process.env, ANIME_API_KEY: fx.apiKey, ANIME_URL: fx.stack.gatewayUrl, ANIME_CONFIG_DIR: '/nonexistent' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk) => resolve(String(chunk))));
    child.stdout.destroy();
    expect(await exited).toBe(141);
    expect(stderr).toBe('');
    const { jobId } = JSON.parse(first.split('\n')[0]).payload;
    await waitFor(async () => (await fx.api.get(`/api/v1/generations/${jobId}`)).data.status === 'completed', 'the job to complete without its watcher', 60_000, 200);
  });

  it('when each command runs with --json, then it prints JSON the API returned; jobs, cancel and retry act on real generations', async () => {
    const commands = ['characters', 'backends', 'queues', 'jobs'];
    const results = await mapAtMost(commands, (command) => anime('--json', command));
    commands.forEach((command, i) => {
      expect({ command, code: results[i].code }).toEqual({ command, code: 0 });
      expect(JSON.parse(results[i].stdout)).toHaveProperty('items');
    });
    // 150 steps × 30 ms: the job must still be running when the next CLI process (a Node start,
    // over a second on a loaded 2-core machine) asks to cancel it; 40 steps once finished first.
    const created = JSON.parse((await anime('--json', 'generate', '-c', 'kai-nakamura', '-p', 'long one', '--steps', '150', '--width', '64', '--height', '64')).stdout);
    expect(created).toMatchObject({ id: expect.any(String), status: 'queued' });
    const canceled = await anime('cancel', created.id);
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).toMatch(new RegExp(`^${created.id} (canceled|cancel requested)`));
    // Waited for through the API (a CLI process per look spent a Node start every 200 ms), then shown by the CLI.
    await waitFor(async () => (await fx.api.get(`/api/v1/generations/${created.id}`)).data.status === 'canceled', 'the cancel', 30_000, 200);
    expect(JSON.parse((await anime('--json', 'show', created.id)).stdout)).toMatchObject({ id: created.id, status: 'canceled' });
    expect((await anime('cancel', created.id)).stdout).toBe(`${created.id} canceled\n`); // repeating is harmless
    const retried = await anime('--json', 'retry', created.id, '--new-seed');
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id: created.id, status: 'queued' });
    await waitFor(async () => (await fx.api.get(`/api/v1/generations/${created.id}`)).data.status === 'completed', 'the retried job', 60_000, 200);
    expect(JSON.parse((await anime('--json', 'show', created.id)).stdout)).toMatchObject({ id: created.id, status: 'completed' });
    const late = await anime('cancel', created.id);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/409 not_cancelable/);
    // What README says each listing shows: a backend's state, load, checkpoints and LoRAs.
    const [backends, listed] = await Promise.all([anime('backends'), anime('jobs', '--limit', '50')]);
    expect(backends.stdout).toMatch(/^ID +URL +STATE +BUSY +QUEUEDEPTH +JOBSDONE +CHECKPOINTS +LORAS +LASTERROR\n.*\bup\b/);
    expect(listed.stdout).toMatch(/^ID +STATUS +CHARACTER/);
    expect(listed.stdout).toContain(created.id);
  }, 120_000);

  it('when there are more jobs than --limit, then a hint on stderr gives the --cursor of the next page; --json keeps the API page, nextCursor included', async () => {
    for (const prompt of ['page one', 'page two']) {
      expect((await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt, width: 64, height: 64, steps: 1, project: 'paging' })).status).toBe(202);
    }
    // The looks that need no cursor, side by side.
    const [first, both, unfiltered, json] = await Promise.all([
      anime('jobs', '--project', 'paging', '--limit', '1'),
      anime('jobs', '--project', 'paging', '--limit', '2'),
      anime('jobs', '--limit', '1'),
      anime('--json', 'jobs', '--project', 'paging', '--limit', '1'),
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^ID +STATUS/), expect.stringMatching(/^[0-9a-f-]{36} /)]);
    const hint = /^more jobs past --limit 1: add --cursor ([0-9a-f-]{36}) \(same filters\) for the next page, or raise --limit \(at most 200\)$/.exec(first.stderr.trimEnd());
    expect({ stderr: first.stderr, hint: Boolean(hint) }).toEqual({ stderr: first.stderr, hint: true });
    const cursor = hint![1];
    expect(first.stdout).toContain(cursor);
    // Following the hint reaches the other one, the last: no hint then.
    const second = await anime('jobs', '--project', 'paging', '--limit', '1', '--cursor', cursor);
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(second.stdout).not.toContain(cursor);
    expect(both.stderr).toBe('');
    // Without filters the hint has none to repeat.
    expect(unfiltered.stderr).toMatch(/^more jobs past --limit 1: add --cursor [0-9a-f-]{36} for the next page, or raise --limit \(at most 200\)\n$/);
    // --json: the API's page as it is, on stdout alone.
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({ items: [expect.objectContaining({ id: cursor })], nextCursor: cursor });
  });

  it('when there are more characters than --limit, then a hint on stderr gives the --cursor of the next page; --json keeps the API page, nextCursor included', async () => {
    // Kai (seeded) and a second one: pages follow the slug.
    expect((await fx.api.post('/api/v1/characters', { name: 'Paging Extra', slug: 'zz-paging-extra', definition: { displayName: 'Paging Extra' } })).status).toBe(201);
    const [first, all, json] = await Promise.all([anime('characters', '--limit', '1'), anime('characters'), anime('--json', 'characters', '--limit', '1')]);
    expect(first.code).toBe(0);
    expect(first.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^SLUG +NAME +CURRENTVERSION/), expect.stringMatching(/^kai-nakamura /)]);
    const hint = /^more characters past --limit 1: add --cursor ([0-9a-f-]{36}) for the next page, or raise --limit \(at most 200\)$/.exec(first.stderr.trimEnd());
    expect({ stderr: first.stderr, hint: Boolean(hint) }).toEqual({ stderr: first.stderr, hint: true });
    const second = await anime('characters', '--limit', '1', '--cursor', hint![1]);
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
    expect(second.stdout.trimEnd().split('\n')).toEqual([expect.stringMatching(/^SLUG/), expect.stringMatching(/^zz-paging-extra /)]);
    // The default (100) holds both: no hint.
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: '' });
    expect(all.stdout).toMatch(/^kai-nakamura .*\n^zz-paging-extra /m);
    expect({ code: json.code, stderr: json.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({ items: [expect.objectContaining({ slug: 'kai-nakamura', id: hint![1] })], nextCursor: hint![1] });
  });

  it('when jobs get --source and --request-id, then only the generations another system produced onto the queue under them are listed', async () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('generation-requests', { connection, prefix: fx.queuePrefix });
    const source = 'cli-farm';
    const requestIds = ['shot-0001', 'shot-0002'];
    try {
      for (const requestId of requestIds) await submit(queue, source, requestId, { character: 'kai-nakamura', prompt: `produced ${requestId}`, width: 64, height: 64, steps: 1 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
    await waitFor(async () => (await fx.api.get(`/api/v1/generations?source=${source}`)).data.items.length === 2, 'both produced generations listed', 30_000);
    const [one, both, none, help] = await Promise.all([
      anime('--json', 'jobs', '--source', source, '--request-id', requestIds[1]),
      anime('--json', 'jobs', '--source', source),
      anime('jobs', '--source', 'no-such-system'),
      anime('jobs', '--help'),
    ]);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).items.map((g: { source: string; requestId: string }) => [g.source, g.requestId])).toEqual([[source, requestIds[1]]]);
    expect(JSON.parse(both.stdout).items.map((g: { requestId: string }) => g.requestId).sort()).toEqual(requestIds);
    expect(none.stdout).toBe('(none)\n');
    expect(help.stdout).toMatch(/--source <system> +.*--request-id <key> +/s);
  });

  it('when characters get --search or --archived, then only the names or slugs holding the text are listed, archived ones only with --archived', async () => {
    expect((await fx.api.post('/api/v1/characters', { name: 'Filter Aoi', slug: 'filter-aoi', definition: { displayName: 'Filter Aoi' } })).status).toBe(201);
    expect((await fx.api.delete('/api/v1/characters/filter-aoi')).status).toBe(200);
    const slugs = (stdout: string) => stdout.trimEnd().split('\n').slice(1).map((line) => line.split(/\s+/)[0]);
    // The looks that need no cursor, side by side.
    const [kai, unarchived, all, archived, json, first, help] = await mapAtMost(
      [
        ['characters', '--search', 'KAI'],
        ['characters', '-q', 'aoi'],
        ['characters'],
        ['characters', '-q', 'filter aoi', '--archived'],
        ['--json', 'characters', '--search', 'aoi', '--archived'],
        ['characters', '--archived', '--limit', '1'],
        ['characters', '--help'],
      ],
      (args) => anime(...args),
    );
    expect({ code: kai.code, stderr: kai.stderr, slugs: slugs(kai.stdout) }).toEqual({ code: 0, stderr: '', slugs: ['kai-nakamura'] });
    // Archived: left out unless asked for.
    expect(unarchived.stdout).toBe('(none)\n');
    expect(slugs(all.stdout)).not.toContain('filter-aoi');
    expect({ code: archived.code, slugs: slugs(archived.stdout) }).toEqual({ code: 0, slugs: ['filter-aoi'] });
    expect(archived.stdout).toMatch(/^filter-aoi +Filter Aoi +1 +0 +true$/m);
    expect(JSON.parse(json.stdout)).toEqual({ items: [expect.objectContaining({ slug: 'filter-aoi', archived: true })], nextCursor: null });
    // With a filter, the next-page hint says to keep it; following it reaches the next one, past the archived.
    expect(slugs(first.stdout)).toEqual(['filter-aoi']);
    const hint = /^more characters past --limit 1: add --cursor ([0-9a-f-]{36}) \(same filters\) for the next page/.exec(first.stderr);
    expect({ stderr: first.stderr, hint: Boolean(hint) }).toEqual({ stderr: first.stderr, hint: true });
    expect(slugs((await anime('characters', '--archived', '--limit', '1', '--cursor', hint![1])).stdout)).toEqual(['kai-nakamura']);
    expect(help.stdout).toMatch(new RegExp(`-q, --search <text> .*\\(at most ${MAX_SEARCH} characters\\)`, 's'));
    expect(help.stdout).toMatch(/--archived +include archived characters/);
  });

  it('when jobs or characters get a --limit, --status, --cursor or a text filter (--project, --character, --search) the gateway would refuse, or show, cancel or retry an id that is not one, then it is a usage error (exit 2) naming what it allows, before any request', async () => {
    // --url at a port nobody listens on: a request would exit 1 with "cannot reach the gateway".
    const cases: [string[], RegExp][] = [
      [['jobs', '--limit', '0'], /--limit must be a whole number from 1 to 200$/],
      [['jobs', '--limit', '201'], /--limit must be a whole number from 1 to 200$/],
      [['jobs', '--limit', '1.5'], /--limit must be a whole number from 1 to 200$/],
      [['jobs', '--status', 'done'], /--status must be one of queued, running, completed, failed, canceled$/],
      [['jobs', '--cursor', 'page-2'], /--cursor must be an id \(a UUID\)/],
      [['characters', '--limit', '0'], /--limit must be a whole number from 1 to 200$/],
      [['characters', '--limit', '500'], /--limit must be a whole number from 1 to 200$/],
      [['characters', '--cursor', 'kai-nakamura'], /--cursor must be an id \(a UUID\)/],
      [['jobs', '--project', 'p'.repeat(MAX_PROJECT + 1)], new RegExp(`--project must be at most ${MAX_PROJECT} characters$`)],
      [['jobs', '--character', 'c'.repeat(MAX_CHARACTER + 1)], new RegExp(`--character must be at most ${MAX_CHARACTER} characters$`)],
      [['characters', '--search', 's'.repeat(MAX_SEARCH + 1)], new RegExp(`--search must be at most ${MAX_SEARCH} characters$`)],
      [['jobs', '--source', 's'.repeat(MAX_SOURCE + 1)], new RegExp(`--source must be at most ${MAX_SOURCE} characters$`)],
      [['show', 'kai-nakamura'], /a generation id is a UUID/],
      [['cancel', '12345'], /a generation id is a UUID/],
      [['retry', 'not-an-id', '--new-seed'], /a generation id is a UUID/],
    ];
    // Each its own process, a few at a time; checked in order.
    const results = await mapAtMost(cases, ([args]) => anime('--url', 'http://127.0.0.1:1', ...args));
    cases.forEach(([args, message], i) => {
      const result = results[i];
      expect({ args, code: result.code, first: result.stderr.split('\n')[0] }).toEqual({ args, code: 2, first: expect.stringMatching(message) });
      expect(result.stderr).not.toMatch(/cannot reach/);
      expect(result.stdout).toBe('');
    });
    // Within the bounds, they reach the gateway.
    const [statuses, longest, longestSearch] = await Promise.all([
      anime('jobs', '--status', 'canceled', '--limit', '200', '--cursor', '00000000-0000-4000-8000-000000000000'),
      anime('jobs', '--project', 'p'.repeat(MAX_PROJECT), '--character', 'c'.repeat(MAX_CHARACTER)),
      anime('characters', '--search', 's'.repeat(MAX_SEARCH)),
    ]);
    expect({ code: statuses.code, stderr: statuses.stderr }).toEqual({ code: 0, stderr: '' });
    expect({ code: longest.code, stdout: longest.stdout, stderr: longest.stderr }).toEqual({ code: 0, stdout: '(none)\n', stderr: '' });
    expect({ code: longestSearch.code, stdout: longestSearch.stdout, stderr: longestSearch.stderr }).toEqual({ code: 0, stdout: '(none)\n', stderr: '' });
  });

  it('when asked for help, given a bad option, an unknown id or a missing key, then it answers plainly with the right exit code', async () => {
    const commands = ['generate', 'jobs', 'show', 'cancel', 'retry', 'characters', 'backends', 'queues'];
    // The key file lives only as long as the command that reads it: a test leaves no key behind in /tmp.
    const keyDir = await mkdtemp(path.join(tmpdir(), 'anime-config-'));
    await writeFile(path.join(keyDir, 'api-key'), `${fx.apiKey}\n`, { mode: 0o600 });
    // Something else answering at --url (a proxy's HTML error page).
    const proxy = createServer((_request, response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<html>\n<body>\n<h1>502 Bad Gateway</h1>\n</body>\n</html>\n'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    // Each its own process, a few at a time; checked in order below.
    const results = await mapAtMost(
      [
        ...commands.map((command) => () => anime(command, '--help')),
        () => anime('generate', '-c', 'kai-nakamura', '-p', 'x', '--count', 'many'),
        () => anime('frobnicate'),
        () => anime('show', '00000000-0000-4000-8000-000000000000'),
        () => animeWith({ ANIME_API_KEY: '' }, 'jobs'),
        () => animeWith({ ANIME_API_KEY: '' }, '--key-file', '/nonexistent/api-key', 'jobs'),
        () => animeWith({ ANIME_API_KEY: '', ANIME_CONFIG_DIR: keyDir }, '--json', 'characters'),
        () => anime('--url', 'http://127.0.0.1:1', 'jobs'),
        () => anime('--url', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, 'jobs'),
      ],
      (command) => command(),
    ).finally(async () => {
      proxy.close();
      await rm(keyDir, { recursive: true, force: true });
    });
    const helps = results.slice(0, commands.length);
    const [badCount, unknownCommand, missing, keyless, namedButMissing, fromFile, unreachable, proxied] = results.slice(commands.length);
    commands.forEach((command, i) => {
      expect({ command, code: helps[i].code, usage: helps[i].stdout.startsWith(`Usage: anime ${command}`) }).toEqual({ command, code: 0, usage: true });
    });
    expect(badCount.code).toBe(2);
    expect(unknownCommand.code).toBe(2);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404 not_found/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/401 unauthenticated: .*\(key from none/);
    expect(namedButMissing.code).toBe(2);
    expect(namedButMissing.stderr).toMatch(/cannot read --key-file \/nonexistent\/api-key: ENOENT/);
    expect(fromFile.code).toBe(0);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the gateway/);
    // The proxy's page: one line too.
    expect(proxied.code).toBe(1);
    expect(proxied.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^anime: 502 not_json: <html> <body> <h1>502 Bad Gateway/)]);
  });
});
