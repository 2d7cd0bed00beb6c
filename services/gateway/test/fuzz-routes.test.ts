import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A seeded walk over every route with hostile and mistyped input: no answer may be a 5xx, and every
// refusal must have the error shape. Seeded so a failure replays; FUZZ_REQUESTS raises the count.
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1500);
let seed = Number(process.env.FUZZ_SEED ?? 20261128);
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
let generationId: string;

beforeAll(async () => {
  gateway = await startTestGateway('fuzz');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  const form = new FormData();
  form.set('file', new Blob([png(8, 8)]), 'kai.png');
  expect((await api.post('/api/v1/characters/kai/references', form)).status).toBe(201);
  generationId = (await api.post('/api/v1/generations', { character: 'kai', prompt: 'x' })).body.id;
});
afterAll(() => gateway?.close());

const strings = ['', 'kai', 'a%00b', '%ED%A0%80', '%E0%A4%A', '%', '..', '..%2F..%2Fetc', 'x'.repeat(3000), '00000000-0000-4000-8000-000000000000', '1', '0', '-1', '99999999999', 'null', '%F0%9F%98%80', 'txt2img', 'generation-requests'];
const values: unknown[] = ['', 'x', 'a\u0000b', '\ud800', 'x'.repeat(5000), 0, -1, 1.5, 1e308, 2 ** 53, true, null, [], [1, 'a'], {}, { a: { b: [] } }, 'kai', 'kai@1', 'kai@999999999999'];
const fields = ['character', 'prompt', 'negative', 'project', 'episode', 'scene', 'shot', 'count', 'seed', 'width', 'height', 'steps', 'outfit', 'workflow', 'params', 'priority', 'references', 'webhook', 'name', 'slug', 'definition', 'attributes', 'note', 'graph', 'label', 'kind', 'basedOn', 'patch', '__proto__', 'constructor'];
const queryKeys = ['limit', 'cursor', 'status', 'project', 'character', 'source', 'requestId', 'q', 'archived', 'as', 'episode', 'version'];

const routes: [string, string][] = [
  ['GET', '/api/v1/generations'],
  ['POST', '/api/v1/generations'],
  ['GET', '/api/v1/generations/:id'],
  ['POST', '/api/v1/generations/:id/cancel'],
  ['POST', '/api/v1/generations/:id/retry'],
  ['GET', '/api/v1/characters'],
  ['POST', '/api/v1/characters'],
  ['GET', '/api/v1/characters/:slug'],
  ['DELETE', '/api/v1/characters/:p'],
  ['GET', '/api/v1/characters/:slug/versions'],
  ['POST', '/api/v1/characters/:slug/versions'],
  ['GET', '/api/v1/characters/:slug/versions/:p'],
  ['GET', '/api/v1/characters/:slug/versions/:p/diff/:p'],
  ['GET', '/api/v1/characters/:slug/references'],
  ['POST', '/api/v1/characters/:slug/references'],
  ['GET', '/api/v1/characters/:slug/references/:p/file'],
  ['GET', '/api/v1/characters/:slug/export'],
  ['POST', '/api/v1/characters/import'],
  ['GET', '/api/v1/assets/:p'],
  ['GET', '/api/v1/workflows'],
  ['POST', '/api/v1/workflows'],
  ['GET', '/api/v1/workflows/:p'],
  ['GET', '/api/v1/workflows/:p/versions/:p'],
  ['GET', '/api/v1/backends'],
  ['POST', '/api/v1/backends/:p/drain'],
  ['GET', '/api/v1/queues'],
  ['POST', '/api/v1/queues/:p/pause'],
  ['GET', '/api/v1/schemas/:p'],
];

function body(): { headers?: Record<string, string>; body?: string | FormData } {
  const kind = random();
  if (kind < 0.6) {
    const object: Record<string, unknown> = pick([{}, { character: 'kai', prompt: 'x' }, { name: 'Fuzz', definition: { displayName: 'F' } }, { definition: kaiDefinition }]);
    for (let i = Math.floor(random() * 4); i > 0; i -= 1) object[pick(fields)] = pick(values);
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(object) };
  }
  if (kind < 0.7) return { headers: { 'content-type': 'application/json' }, body: pick(['{', '[]', 'null', '"x"', '{"a":1}'.repeat(3), '\u0000']) };
  if (kind < 0.8) return { headers: { 'content-type': pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data']) }, body: 'a=b' };
  if (kind < 0.9) {
    const form = new FormData();
    if (random() < 0.7) form.set('file', new Blob([pick([Buffer.from('PK\u0003\u0004junk'), png(4, 4), Buffer.alloc(0), Buffer.from('\u0089PNG\r\n\u001a\n')])]), pick(['a.png', 'b.zip', '', '../x']));
    if (random() < 0.5) form.set(pick(['label', 'kind', 'x']), pick(strings));
    return { body: form };
  }
  return {};
}

describe('fuzzed requests over every route', () => {
  it(`when ${REQUESTS} seeded hostile requests are sent, then none is a 5xx and every refusal has the error shape`, async () => {
    const bad: string[] = [];
    for (let i = 0; i < REQUESTS; i += 1) {
      const [method, template] = pick(routes);
      let path = template
        .replace(':id', () => pick([generationId, ...strings]))
        .replace(':slug', () => pick(['kai', 'kai', ...strings]))
        .replaceAll(':p', () => pick(strings));
      if (random() < 0.5) path += `?${Array.from({ length: 1 + Math.floor(random() * 3) }, () => `${pick(queryKeys)}=${pick(strings)}`).join('&')}`;
      const sent = method === 'GET' ? {} : body();
      const response = await fetch(`${gateway.baseUrl}${path}`, { method, ...sent, headers: { ...gateway.authHeaders, ...(sent as { headers?: Record<string, string> }).headers } });
      const text = await response.text();
      const isJson = (response.headers.get('content-type') ?? '').includes('json');
      const shaped = response.status < 400 || (isJson && typeof JSON.parse(text)?.error?.code === 'string');
      if (response.status >= 500 || !shaped) bad.push(`${method} ${path.slice(0, 80)} → ${response.status} ${text.slice(0, 120)}`);
    }
    expect(bad).toEqual([]);
  }, 300_000);
});
