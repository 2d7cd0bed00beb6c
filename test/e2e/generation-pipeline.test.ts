import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import axios from 'axios';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '@anime/contracts';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { recordJobEvents } from './socket-recorder';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('generation pipeline, each service its own process', () => {
  let fx: StackFixture;

  beforeAll(async () => {
    fx = await startStackFixture('e2e');
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  const waitForTerminal = (id: string) => waitForGenerationEnd(fx, id);

  it('when Kai Nakamura is generated, then the image is filed at its organized path with its sha256 and a socket client saw the whole story', async () => {
    const res = await fx.api.post('/api/v1/generations', {
      character: 'kai-nakamura', prompt: 'standing on a rooftop at dusk', project: 'demo', episode: 'ep01', scene: 'sc001', steps: 8,
    });
    expect(res.status).toBe(202);
    expect(res.data).toEqual({ id: expect.any(String), status: 'queued' });
    expect(res.headers.location).toBe(`/api/v1/generations/${res.data.id}`);

    const socket = await recordJobEvents(fx.stack.gatewayUrl, res.data.id, fx.apiKey);
    expect(socket.ack).toMatchObject({ ok: true });
    await socket.ended();
    socket.close();

    const generation = await waitForTerminal(res.data.id);
    expect(generation.status).toBe('completed');
    expect(generation.error).toBeNull();
    expect(generation.assets).toHaveLength(1);
    const asset = generation.assets[0];
    expect(asset.path).toMatch(/^demo\/ep01\/sc001\/kai-nakamura\/kai-nakamura_v3_[0-9a-f-]+_01\.png$/);

    // The file is in the library with the recorded checksum, and its sidecar sits next to it.
    const bytes = await readFile(path.join(fx.libraryDir, asset.path));
    expect(sha256(bytes)).toBe(asset.sha256);
    const sidecar = JSON.parse(await readFile(path.join(fx.libraryDir, `${asset.path}.json`), 'utf8'));
    expect(sidecar).toMatchObject({ jobId: res.data.id, sha256: asset.sha256, character: { slug: 'kai-nakamura', version: 3 } });
    const served = await fx.api.get(asset.url, { responseType: 'arraybuffer' });
    expect(served.status).toBe(200);
    expect(sha256(Buffer.from(served.data))).toBe(asset.sha256);

    // Nothing ComfyUI wrote is left only in its output folder.
    const librarySums = new Set((await fx.db.asset.findMany()).map((a) => a.sha256));
    for (const file of await listFiles(fx.simulatorOutputDir)) expect(librarySums).toContain(sha256(await readFile(file)));

    // The prompt that reached ComfyUI carries Kai's current version text.
    const history = (await axios.get(`${fx.stack.comfyUrls[0]}/history/${generation.promptId}`)).data[generation.promptId];
    const graph = history.prompt[2] as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    const texts = Object.values(graph).filter((n) => n.class_type === 'CLIPTextEncode').map((n) => String(n.inputs.text));
    const current = await fx.db.characterVersion.findFirstOrThrow({ where: { character: { slug: 'kai-nakamura' } }, orderBy: { number: 'desc' } });
    const definition = current.definition as { triggerWords: string[] };
    expect(definition.triggerWords.length).toBeGreaterThan(0);
    expect(texts[0]).toContain(definition.triggerWords[0]);
    expect(texts[0]).toContain('standing on a rooftop at dusk');

    // queued → submitted → started → ≥1 progress → completed, in seq order.
    const names = socket.events.map((e) => e.name);
    expect(names.slice(0, 3)).toEqual(['job:queued', 'job:submitted', 'job:started']);
    expect(socket.events[1].payload).toMatchObject({ backend: fx.stack.comfyUrls[0], attempt: 1 });
    expect(socket.events[2].payload).toMatchObject({ backend: fx.stack.comfyUrls[0], attempt: 1 });
    expect(names.slice(3, -1).length).toBeGreaterThanOrEqual(1);
    expect(new Set(names.slice(3, -1))).toEqual(new Set(['job:progress']));
    expect(names[names.length - 1]).toBe('job:completed');
    const seqs = socket.events.map((e) => e.payload.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    const completed = socket.events[socket.events.length - 1].payload as unknown as { assets: { sha256: string }[] };
    expect(completed.assets.map((a) => a.sha256)).toEqual([asset.sha256]);
  });

  it('when the character needs a LoRA no backend has, then the job fails at once with no_capable_backend naming it, never sent to ComfyUI', async () => {
    const kai = await fx.db.character.findUniqueOrThrow({ where: { slug: 'kai-nakamura' } });
    const current = await fx.db.characterVersion.findFirstOrThrow({ where: { characterId: kai.id }, orderBy: { number: 'desc' } });
    const broken = await fx.db.character.create({
      data: {
        slug: 'kai-broken-lora', name: 'Kai Broken LoRA', currentVersion: 1,
        versions: { create: { number: 1, definition: { ...(current.definition as object), loras: [{ name: 'not-installed.safetensors', weight: 1 }] } } },
      },
    });
    const res = await fx.api.post('/api/v1/generations', { character: broken.slug, prompt: 'portrait' });
    expect(res.status).toBe(202);
    const generation = await waitForTerminal(res.data.id);
    expect(generation.status).toBe('failed');
    expect(generation.error.code).toBe('no_capable_backend');
    expect(generation.error.message).toContain('LoRA "not-installed.safetensors"');
    expect(generation.error.details).toMatchObject({ missing: ['LoRA "not-installed.safetensors"'] });
    expect(generation.attempts).toEqual([]);
  });

  it('when ComfyUI raises during execution, then the job fails with its exception message', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'Kai Nakamura', prompt: 'portrait __sim_execution_error__', steps: 4 });
    expect(res.status).toBe(202);
    const socket = await recordJobEvents(fx.stack.gatewayUrl, res.data.id, fx.apiKey);
    await socket.ended();
    socket.close();
    const generation = await waitForTerminal(res.data.id);
    expect(generation.status).toBe('failed');
    expect(generation.error.code).toBe('comfyui_execution');
    expect(generation.error.message.length).toBeGreaterThan(0);
    expect(socket.events[socket.events.length - 1]).toMatchObject({ name: 'job:failed', payload: { error: { code: 'comfyui_execution' } } });
  });

  it.each([
    [{}, 'character'],
    [{ character: 'kai-nakamura', prompt: '' }, 'prompt'],
    [{ character: 'kai-nakamura', prompt: 'x', count: 17 }, 'count'],
    [{ character: 'kai-nakamura', prompt: 'x', width: 513 }, 'width'],
    [{ character: 'kai-nakamura', prompt: 'x\u0000y' }, 'prompt'],
    [{ character: 'kai-nakamura', prompt: 'x', project: '../etc' }, 'project'],
  ])('when the body is %j, then the gateway answers 400 naming %s', async (body, field) => {
    const res = await fx.api.post('/api/v1/generations', body);
    expect(res.status).toBe(400);
    expect(res.data.error.code).toBe('validation_failed');
    expect(res.data.error.details.map((d: { path: string }) => d.path)).toContain(field);
  });

  it('when the character does not exist, then 404 with a clear message; malformed JSON is a 400', async () => {
    const missing = await fx.api.post('/api/v1/generations', { character: 'nobody', prompt: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.data.error).toMatchObject({ code: 'character_not_found', message: expect.stringContaining('nobody') });
    const badJson = await fx.api.post('/api/v1/generations', '{"character":', { headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    expect(badJson.data.error.code).toBe('invalid_json');
    const unknownJob = await fx.api.get('/api/v1/generations/not-a-uuid');
    expect(unknownJob.status).toBe(400);
  });

  it('when the workflow is unknown, then 404 workflow_not_found lists the workflows; the built-in one is accepted by name', async () => {
    const unknown = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', workflow: 'inpaint@3' });
    expect(unknown.status).toBe(404);
    expect(unknown.data.error).toMatchObject({ code: 'workflow_not_found', details: { available: ['txt2img@1'] } });
    const known = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', workflow: 'txt2img@1', steps: 2 });
    expect(known.status).toBe(202);
    expect((await waitForTerminal(known.data.id)).status).toBe('completed');
  });

  it('when another system puts requests straight on generation-requests, then each requestId makes one job, and a bad one fails with its code', async () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.generationRequests, { connection, prefix: fx.queuePrefix });
    try {
      const payload = { schemaVersion: 1, requestId: `ext-${Date.now()}`, character: 'kai-nakamura@2', prompt: 'from another system', steps: 2, project: 'ext' };
      await queue.add('resolveCharacter', payload);
      await queue.add('resolveCharacter', payload);
      const job = await waitFor(() => fx.db.generationJob.findFirst({ where: { source: 'queue', requestId: payload.requestId } }), 'the job to be created');
      const done = await waitForTerminal(job.id);
      expect(done).toMatchObject({ status: 'completed', character: { slug: 'kai-nakamura', version: 2 } });
      expect(done.assets[0].path).toMatch(/^ext\/ep00\/sc000\/kai-nakamura\//);
      expect(done).toMatchObject({ source: 'queue', requestId: payload.requestId, stage: 'filed' });
      const found = await fx.api.get('/api/v1/generations', { params: { source: 'queue', requestId: payload.requestId } });
      expect(found.data.items.map((g: { id: string }) => g.id)).toEqual([job.id]);
      const otherSource = await fx.api.get('/api/v1/generations', { params: { source: 'elsewhere', requestId: payload.requestId } });
      expect(otherSource.data.items).toEqual([]);
      await queue.add('resolveCharacter', { ...payload, requestId: `${payload.requestId}-wf`, workflow: 'nope' });
      const failed = await waitFor(() => fx.db.generationJob.findFirst({ where: { requestId: `${payload.requestId}-wf`, status: 'failed' } }), 'the bad request to fail');
      expect(failed.errorCode).toBe('workflow_not_found');
      expect(await fx.db.generationJob.count({ where: { requestId: payload.requestId } })).toBe(1);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('when generations are listed, then filters, newest-first order and cursor paging hold; a bad filter is a 400', async () => {
    const all = await fx.api.get('/api/v1/generations', { params: { limit: 200 } });
    expect(all.status).toBe(200);
    expect(all.data.items.length).toBeGreaterThanOrEqual(4);
    const created = all.data.items.map((g: { createdAt: string }) => g.createdAt);
    expect([...created].sort().reverse()).toEqual(created);

    const completed = await fx.api.get('/api/v1/generations', { params: { status: 'completed', project: 'demo', character: 'kai-nakamura' } });
    expect(completed.data.items.length).toBeGreaterThan(0);
    for (const g of completed.data.items) expect(g).toMatchObject({ status: 'completed', character: { slug: 'kai-nakamura' }, request: { project: 'demo' } });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { items: { id: string }[]; nextCursor: string | null } } = await fx.api.get('/api/v1/generations', { params: { limit: 2, ...(cursor ? { cursor } : {}) } });
      expect(page.data.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.items.map((g) => g.id));
      cursor = page.data.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.data.items.map((g: { id: string }) => g.id));

    const bad = await fx.api.get('/api/v1/generations', { params: { status: 'done', limit: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.data.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['limit', 'status']);
  });

  it('when characters are listed, then they come from the database', async () => {
    const list = await fx.api.get('/api/v1/characters');
    expect(list.status).toBe(200);
    expect(list.data.items.map((c: { slug: string }) => c.slug)).toContain('kai-nakamura');
    const kai = await fx.api.get('/api/v1/characters/kai-nakamura');
    expect(kai.data).toMatchObject({ slug: 'kai-nakamura', name: 'Kai Nakamura', versionCount: 3, currentVersion: { number: 3 } });
    expect(kai.data.references.map((r: { label: string }) => r.label).sort()).toEqual(['Hiroshi', 'Sakura']);
  });
});
