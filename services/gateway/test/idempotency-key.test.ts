import { generationEventsStream, parseGenerationStreamEntry } from '@anime/contracts';
import { createRedis } from '@anime/pipeline';
import { gate, TEST_REDIS_URL } from '@anime/testing';
import type { Redis } from 'ioredis';
import { apiDocument } from '../src/http/openapi/api-document';
import { kaiDefinition } from './fixtures';
import { checkAgainstApiDocument } from './openapi-conformance';
import { aroundStatements } from './pool-statements';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Idempotency-Key on POST /api/v1/generations: a client whose 202 was lost sends the same request
// with the same key again and gets the generation back, never a second one. No orchestrator runs
// here: every generation stays queued.
const LOOKUP = 'gateway-generation-by-idempotency-key';
/** One generation of the defaults (count 1, 512 × 512, 20 steps): the cost the keyless gateway allows a minute. */
const ONE_GENERATION_COST = 512 * 512 * 20;

let gateway: TestGateway;
let keyless: TestGateway;
let redis: Redis;

beforeAll(async () => {
  // MAX_QUEUED_PER_KEY 1: a repeat while its key's one generation is queued is answered, not refused queue_full.
  gateway = await startTestGateway('idempotency-key', { limits: { RATE_LIMIT_RPS: 1_000_000, MAX_QUEUED_PER_KEY: 1 } });
  // AUTH_MODE=off: the caller has no key (apiKeyId null); one generation's cost a minute.
  keyless = await startTestGateway('idempotency-key-off', { authMode: 'off', limits: { RATE_LIMIT_RPS: 1_000_000, RATE_LIMIT_COST_PER_MIN: ONE_GENERATION_COST } });
  for (const gw of [gateway, keyless]) expect((await gw.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  redis = createRedis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await Promise.all([gateway?.close(), keyless?.close()]);
});

const newKey = () => gateway.mintKey({ scopes: ['read', 'generate'] });

interface Answer {
  status: number;
  body: any;
  location: string | null;
  replayed: string | null;
}

/** POST /api/v1/generations with `key` as its Idempotency-Key (none: no header), its answer checked against the document. */
async function post(gw: TestGateway, token: string | null, body: unknown, key?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await fetch(`${gw.baseUrl}/api/v1/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  const answer = { status: response.status, body: text ? JSON.parse(text) : null, location: response.headers.get('location'), replayed: response.headers.get('idempotent-replayed') };
  checkAgainstApiDocument({ method: 'POST', url: '/api/v1/generations', status: answer.status, contentType: response.headers.get('content-type'), body: answer.body, headers: response.headers });
  return answer;
}

/** The same with the header's raw bytes (fetch sends only Latin-1 text), or the header twice. */
async function postRaw(token: string, body: unknown, header: Buffer | string[]) {
  const lines = (Array.isArray(header) ? header.map((h) => Buffer.from(h)) : [header]).map((value) => Buffer.concat([Buffer.from('Idempotency-Key: '), value, Buffer.from('\r\n')]));
  const payload = JSON.stringify(body);
  const head = `POST /api/v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n`;
  const { connect } = await import('node:net');
  const url = new URL(gateway.baseUrl);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(Buffer.concat([Buffer.from(head), ...lines, Buffer.from('\r\n'), Buffer.from(payload)])));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
  const [head2, ...rest] = raw.split('\r\n\r\n');
  const text = rest.join('\r\n\r\n');
  return { status: Number(head2.split(' ')[1]), body: JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1) || 'null') };
}

/** The job:queued events the generation-events stream holds for a generation. */
async function queuedEvents(gw: TestGateway, id: string): Promise<number> {
  const entries = await redis.xrange(generationEventsStream(gw.queuePrefix), '-', '+');
  return entries.map(([, fields]) => parseGenerationStreamEntry(fields)).filter((e) => e.generationId === id && e.event === 'job:queued').length;
}

const rowsOf = (gw: TestGateway, requestId: string) => gw.db.generationJob.findMany({ where: { requestId } });
const renders = (gw: TestGateway) => gw.queues.byKey.generationRenders.count();

describe('Idempotency-Key on POST /api/v1/generations', () => {
  it('when a request is repeated with its Idempotency-Key, then the repeat gets the same id, status and Location with Idempotent-Replayed: true, and nothing new is written, queued or published', async () => {
    const token = await newKey();
    const body = { character: 'kai', prompt: 'on a rooftop at dusk' };
    const rendersBefore = await renders(gateway);
    const first = await post(gateway, token, body, 'retry-me-1');
    expect(first).toMatchObject({ status: 202, body: { id: expect.any(String), status: 'queued' }, replayed: null });
    expect(first.location).toBe(`/api/v1/generations/${first.body.id}`);

    const repeat = await post(gateway, token, body, 'retry-me-1');
    expect(repeat).toEqual({ status: 202, body: first.body, location: first.location, replayed: 'true' });

    const rows = await rowsOf(gateway, 'retry-me-1');
    expect(rows.map((r) => ({ id: r.id, source: r.source, status: r.status }))).toEqual([{ id: first.body.id, source: 'api', status: 'queued' }]);
    expect(rows[0].apiKeyId).not.toBeNull();
    expect(await renders(gateway)).toBe(rendersBefore + 1);
    expect(await gateway.db.jobEvent.count({ where: { jobId: first.body.id } })).toBe(1);
    expect(await queuedEvents(gateway, first.body.id)).toBe(1);

    // Stored as the generation's requestId: the resource shows it and ?requestId= finds it.
    const api = gateway.client(token);
    expect((await api.get(`/api/v1/generations/${first.body.id}`)).body).toMatchObject({ source: 'api', requestId: 'retry-me-1' });
    expect((await api.get('/api/v1/generations?requestId=retry-me-1')).body.items.map((g: { id: string }) => g.id)).toEqual([first.body.id]);

    // A repeat later on says where the generation stands now.
    await gateway.db.generationJob.update({ where: { id: first.body.id }, data: { status: 'running' } });
    expect(await post(gateway, token, body, 'retry-me-1')).toEqual({ status: 202, body: { id: first.body.id, status: 'running' }, location: first.location, replayed: 'true' });
  });

  it('when the key has MAX_QUEUED_PER_KEY generations queued, then a repeat is still answered 202 (not queue_full) while a new request is refused', async () => {
    const token = await newKey();
    const body = { character: 'kai', prompt: 'at the cap' };
    const first = await post(gateway, token, body, 'at-cap');
    expect(first.status).toBe(202);
    const fresh = await post(gateway, token, { ...body, prompt: 'another one' });
    expect({ status: fresh.status, code: fresh.body.error?.code }).toEqual({ status: 429, code: 'queue_full' });
    const freshWithKey = await post(gateway, token, { ...body, prompt: 'another one' }, 'at-cap-2');
    expect({ status: freshWithKey.status, code: freshWithKey.body.error?.code }).toEqual({ status: 429, code: 'queue_full' });
    expect(await post(gateway, token, body, 'at-cap')).toMatchObject({ status: 202, body: first.body, replayed: 'true' });
    expect(await rowsOf(gateway, 'at-cap-2')).toEqual([]);
  });

  it('when 20 repeats of a new key arrive at once, then exactly one generation is made, one render job queued and one job:queued published, and every one of them answers 202 with its id', async () => {
    const token = await newKey();
    const body = { character: 'kai', prompt: 'twenty at once', seed: 7 };
    const rendersBefore = await renders(gateway);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(gateway, token, body, 'stampede')));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    // One request made it; each other one was answered as a repeat.
    expect(answers.filter((a) => a.replayed === 'true').length).toBe(19);
    expect((await rowsOf(gateway, 'stampede')).map((r) => r.id)).toEqual([id]);
    expect(await renders(gateway)).toBe(rendersBefore + 1);
    expect(await queuedEvents(gateway, id)).toBe(1);
  });

  it('when the key comes again with a different request, then 422 idempotency_key_reused saying so, and nothing is written; the defaults, and a seed left out, are the same request', async () => {
    const token = await newKey();
    const body = { character: 'kai', prompt: 'the first request', seed: 42 };
    const first = await post(gateway, token, body, 'one-request');
    expect(first.status).toBe(202);
    const before = await gateway.db.generationJob.count();
    const different = [
      { ...body, prompt: 'another request' },
      { ...body, seed: 43 },
      { ...body, count: 2 },
      { ...body, width: 640 },
      { ...body, steps: 21 },
      { ...body, negative: 'blurry' },
      { ...body, project: 'other' },
      { ...body, shot: 'sh010' },
      { ...body, outfit: 'jacket' },
      { ...body, priority: 'batch' },
      { ...body, references: 'required' },
      { ...body, params: { cfg: 7 } },
      { ...body, character: 'Kai Nakamura' },
      { ...body, height: 768 },
      { ...body, episode: 'ep01' },
      { ...body, scene: 'sc010' },
      { ...body, workflow: 'txt2img-hires' },
      { ...body, webhook: { url: 'https://example.test/hook' } },
    ];
    for (const changed of different) {
      const answer = await post(gateway, token, changed, 'one-request');
      expect({ changed, status: answer.status, code: answer.body.error?.code }).toEqual({ changed, status: 422, code: 'idempotency_key_reused' });
      expect(answer.body.error.message).toMatch(/used for a different request/);
    }
    expect(await gateway.db.generationJob.count()).toBe(before);
    // What the defaults fill in, sent or not, and a seed left out (the first one's is recorded), is the same request.
    const { seed: _seed, ...withoutSeed } = body;
    for (const same of [withoutSeed, { ...body, count: 1, width: 512, height: 512, steps: 20, project: 'default', episode: 'ep00', scene: 'sc000', priority: 'normal', references: 'auto' }]) {
      expect(await post(gateway, token, same, 'one-request')).toMatchObject({ status: 202, body: first.body, replayed: 'true' });
    }
  });

  it('when another API key sends a key already used, then 422 idempotency_key_reused that tells nothing of the generation, and nothing is written', async () => {
    const owner = await newKey();
    const other = await newKey();
    const body = { character: 'kai', prompt: 'mine' };
    const first = await post(gateway, owner, body, 'shared-key');
    expect(first.status).toBe(202);
    const before = await gateway.db.generationJob.count();
    const refused = await post(gateway, other, body, 'shared-key');
    expect({ status: refused.status, code: refused.body.error.code, replayed: refused.replayed }).toEqual({ status: 422, code: 'idempotency_key_reused', replayed: null });
    expect(JSON.stringify(refused.body)).not.toContain(first.body.id);
    expect(refused.location).toBeNull();
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the header is empty, too long, sent twice or not UTF-8 text (an encoded lone surrogate), then 400 validation_failed naming it, and nothing is written; a NUL is refused by the HTTP parser', async () => {
    const token = await newKey();
    const body = { character: 'kai', prompt: 'bad keys' };
    const before = await gateway.db.generationJob.count();
    for (const key of ['', 'k'.repeat(201)]) {
      const answer = await post(gateway, token, body, key);
      expect({ length: key.length, status: answer.status, code: answer.body.error.code, paths: answer.body.error.details.map((d: { path: string }) => d.path) }).toEqual({
        length: key.length,
        status: 400,
        code: 'validation_failed',
        paths: ['Idempotency-Key'],
      });
    }
    for (const header of [Buffer.from([0x6b, 0xed, 0xa0, 0x80]), Buffer.from([0x6b, 0xff]), ['twice-a', 'twice-b']]) {
      const answer = await postRaw(token, body, header);
      expect({ header, status: answer.status, code: answer.body?.error?.code, path: answer.body?.error?.details?.[0]?.path }).toEqual({ header, status: 400, code: 'validation_failed', path: 'Idempotency-Key' });
    }
    expect((await postRaw(token, body, Buffer.from('k\0k'))).status).toBe(400);
    expect(await gateway.db.generationJob.count()).toBe(before);
    // 200 characters pass, and UTF-8 text is the key as written: stored and found as such.
    const longest = await post(gateway, await newKey(), body, 'k'.repeat(200));
    expect(longest.status).toBe(202);
    const utf8Key = Buffer.from('clé-✓', 'utf8');
    const accented = await postRaw(await newKey(), body, utf8Key);
    expect(accented.status).toBe(202);
    expect((await rowsOf(gateway, 'clé-✓')).map((r) => r.id)).toEqual([accented.body.id]);
    const found = await gateway.client().get(`/api/v1/generations?requestId=${encodeURIComponent('clé-✓')}`);
    expect(found.body.items.map((g: { id: string }) => g.id)).toEqual([accented.body.id]);
  });

  it('when no Idempotency-Key is sent, then every request makes its own generation, as before, without reading for a key', async () => {
    const token = await newKey();
    const extra = await newKey();
    const body = { character: 'kai', prompt: 'no key' };
    const statements: (string | undefined)[] = [];
    const spy = aroundStatements(gateway.db, (name, send) => {
      statements.push(name);
      return send();
    });
    let answers: Answer[];
    try {
      answers = [await post(gateway, token, body), await post(gateway, extra, body)];
    } finally {
      spy.mockRestore();
    }
    expect(answers.map((a) => ({ status: a.status, replayed: a.replayed, status2: a.body.status }))).toEqual(Array(2).fill({ status: 202, replayed: null, status2: 'queued' }));
    expect(answers[0].body.id).not.toBe(answers[1].body.id);
    expect(statements).not.toContain(LOOKUP);
    const rows = await gateway.db.generationJob.findMany({ where: { id: { in: answers.map((a) => a.body.id) } } });
    expect(rows.map((r) => r.requestId)).toEqual([null, null]);
  });

  it('when AUTH_MODE=off, then the keyless caller repeats with its key too, and a repeat is not charged the cost a new generation is', async () => {
    const body = { character: 'kai', prompt: 'keyless' };
    const first = await post(keyless, null, body, 'keyless-1');
    expect(first).toMatchObject({ status: 202, replayed: null });
    // The minute's cost is spent: a new generation is refused, a repeat is not.
    const fresh = await post(keyless, null, { ...body, prompt: 'another' });
    expect({ status: fresh.status, code: fresh.body.error?.code }).toEqual({ status: 429, code: 'rate_limited' });
    expect(await post(keyless, null, body, 'keyless-1')).toMatchObject({ status: 202, body: first.body, location: first.location, replayed: 'true' });
    const rows = await rowsOf(keyless, 'keyless-1');
    expect(rows.map((r) => ({ id: r.id, apiKeyId: r.apiKeyId, source: r.source }))).toEqual([{ id: first.body.id, apiKeyId: null, source: 'api' }]);
  });

  it('when a repeat read no generation for its key, and the request with the key then filled the queue share (queue_full) before the repeat was counted, then the repeat is answered as one, not 429', async () => {
    // AUTH_MODE=off: the keyless share is counted in the route, after the key was looked up.
    const raced = await startTestGateway('idempotency-key-race', { authMode: 'off', limits: { RATE_LIMIT_RPS: 1_000_000, MAX_QUEUED_PER_KEY: 1 } });
    try {
      expect((await raced.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
      const body = { character: 'kai', prompt: 'raced' };
      // The late request's lookup answers "none", then waits while the other one makes the generation.
      const looked = gate();
      const release = gate();
      let holding = true;
      const spy = aroundStatements(raced.db, async (name, send) => {
        if (name !== LOOKUP || !holding) return send();
        holding = false;
        const answer = await send();
        looked.open();
        await release.opened;
        return answer;
      });
      let late: Answer;
      let first: Answer;
      try {
        const pending = post(raced, null, body, 'raced-key');
        await looked.opened;
        first = await post(raced, null, body, 'raced-key');
        release.open();
        late = await pending;
      } finally {
        release.open();
        spy.mockRestore();
      }
      expect(first).toMatchObject({ status: 202, replayed: null });
      expect(late).toEqual({ status: 202, body: first.body, location: first.location, replayed: 'true' });
      expect((await rowsOf(raced, 'raced-key')).map((r) => r.id)).toEqual([first.body.id]);
      // The share is full for anything new.
      expect((await post(raced, null, { ...body, prompt: 'new' }, 'another-key')).body.error?.code).toBe('queue_full');
    } finally {
      await raced.close();
    }
  });

  it('when the OpenAPI document describes the route, then it declares the Idempotency-Key request header, the Idempotent-Replayed answer header and the 422', () => {
    const operation = (apiDocument().paths as any)['/api/v1/generations'].post;
    expect(operation.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false, schema: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 200 }) })]));
    expect(operation.responses['202'].headers['Idempotent-Replayed']).toMatchObject({ schema: { type: 'string', enum: ['true'] } });
    expect(operation.responses['422'].description).toContain('idempotency_key_reused');
  });
});
