import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createWebhookBodySchema, generationRequestBodySchema, generationRequestPayloadSchema } from '@anime/contracts';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// The JSON Schema producers validate against (GET /api/v1/schemas/generation-request) must say what
// the consumer enforces: a message the schema accepts is one the character service accepts.

let gateway: TestGateway;
let schema: any;

beforeAll(async () => {
  gateway = await startTestGateway('request-schema');
  const response = await gateway.client().get('/api/v1/schemas/generation-request');
  expect(response.status).toBe(200);
  schema = response.body;
});
afterAll(() => gateway?.close());

/** Every object property, nested ones included, with its JSON pointer. */
function properties(node: any, at = ''): [string, any][] {
  if (!node || typeof node !== 'object') return [];
  const own: [string, any][] = Object.entries(node.properties ?? {}).map(([key, value]) => [`${at}/${key}`, value]);
  return [...own, ...own.flatMap(([pointer, value]) => properties(value, pointer)), ...(node.anyOf ?? []).flatMap((branch: any, i: number) => properties(branch, `${at}/anyOf/${i}`))];
}

const request = () => schema.anyOf.find((branch: any) => branch.properties?.prompt);

/** Limits the consumer enforces beyond the scalar bounds: three of these pass, the others are refused. */
const limitCases = (base: Record<string, unknown>): Record<string, unknown>[] => [
  { ...base, webhook: { url: 'https://example.com/hook' } },
  { ...base, webhook: { url: 'ftp://example.com/x' } },
  { ...base, webhook: { url: 'mailto:ops@example.com' } },
  { ...base, params: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`p${i}`, i])) },
  { ...base, params: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, i])) },
  { ...base, params: { cfg: 7, sampler: 'euler', hires: true } },
  // As JSON.parse builds them: "__proto__" an own key.
  { ...base, params: JSON.parse('{"__proto__":{"x":1}}') },
  { ...base, params: JSON.parse('{"__proto__":1}') },
];

describe('the generation-request JSON Schema', () => {
  it('when served, then every property of both message forms, nested ones included, has a description', () => {
    const all = properties(schema);
    expect(all.length).toBeGreaterThan(25);
    expect(all.filter(([, value]) => typeof value.description !== 'string' || value.description.length < 5).map(([pointer]) => pointer)).toEqual([]);
    expect(schema.description).toMatch(/generation-requests/);
  });

  it('when served, then width and height carry multipleOf 8 and their bounds, and the other limits are there', () => {
    const { properties: p, required, additionalProperties } = request();
    for (const side of ['width', 'height']) expect(p[side]).toMatchObject({ type: 'integer', multipleOf: 8, minimum: 64, maximum: 2048, default: 512 });
    expect(p.count).toMatchObject({ minimum: 1, maximum: 16 });
    expect(p.steps).toMatchObject({ minimum: 1, maximum: 150 });
    expect(p.seed).toMatchObject({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
    expect(p.prompt).toMatchObject({ minLength: 1, maxLength: 4000 });
    expect(p.character).toMatchObject({ minLength: 1, maxLength: 200 });
    expect(p.priority.enum).toEqual(['interactive', 'normal', 'batch']);
    expect(p.references.enum).toEqual(['auto', 'required']);
    expect(p.schemaVersion.const).toBe(1);
    expect(p.project).toMatchObject({ maxLength: 64, pattern: expect.any(String) });
    expect(p.requestId).toMatchObject({ minLength: 1, maxLength: 200 });
    expect(required).toEqual(expect.arrayContaining(['character', 'prompt', 'schemaVersion']));
    expect(additionalProperties).toBe(false);
  });

  it('when a producer validates with the schema, then it agrees with the consumer on each limit', () => {
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const base = { schemaVersion: 1, character: 'kai-nakamura', prompt: 'on a rooftop' };
    const cases: Record<string, unknown>[] = [
      base,
      { ...base, width: 1024, height: 768 },
      { ...base, width: 1020 },
      { ...base, height: 60 },
      { ...base, width: 2056 },
      { ...base, count: 17 },
      { ...base, steps: 0 },
      { ...base, priority: 'urgent' },
      { ...base, references: 'never' },
      { ...base, project: '../etc' },
      { ...base, prompt: '' },
      { ...base, prompt: 'x'.repeat(4001) },
      { ...base, schemaVersion: 2 },
      { ...base, unknown: 1 },
      { ...base, source: 'my system' },
      { ...base, source: 'render-farm', requestId: 'r-1' },
      { ...base, seed: -1 },
      { ...base, seed: 1.5 },
      { schemaVersion: 1, generationId: '0b7f6f7e-3f5e-4c8e-9a59-1f0c5b8a9d10' },
      ...limitCases(base),
    ];
    const verdicts = cases.map((message) => ({ message, schema: validate(message), consumer: generationRequestPayloadSchema.safeParse(message).success }));
    expect(verdicts.filter((v) => v.schema !== v.consumer)).toEqual([]);
    expect(verdicts.filter((v) => v.consumer).length).toBe(4 + 3);
  });

  it('when a client validates with the OpenAPI request bodies of POST /generations and POST /webhooks, then they agree with the API on each limit', async () => {
    const document = (await gateway.client().get('/api/openapi.json')).body;
    const bodyOf = (path: string) => {
      const schema = document.paths[path].post.requestBody.content['application/json'].schema;
      return schema.$ref ? document.components.schemas[schema.$ref.split('/').at(-1)] : schema;
    };
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const base = { character: 'kai-nakamura', prompt: 'on a rooftop' };
    const validateGeneration = ajv.compile(bodyOf('/api/v1/generations'));
    const generations = [base, ...limitCases(base)].map((body) => ({ body, schema: validateGeneration(body), api: generationRequestBodySchema.safeParse(body).success }));
    expect(generations.filter((v) => v.schema !== v.api)).toEqual([]);
    expect(generations.filter((v) => v.api).length).toBe(1 + 3);

    const validateWebhook = ajv.compile(bodyOf('/api/v1/webhooks'));
    const webhooks = ['https://example.com/hook', 'HTTP://example.com/hook', 'ftp://example.com/x', 'mailto:ops@example.com'].map((url) => {
      const body = { url, events: ['generation.completed'] };
      return { body, schema: validateWebhook(body), api: createWebhookBodySchema.safeParse(body).success };
    });
    expect(webhooks.filter((v) => v.schema !== v.api)).toEqual([]);
    expect(webhooks.filter((v) => v.api).length).toBe(2);
  });

  it('when a width is not a multiple of 8, then the consumer names it so', () => {
    const result = generationRequestPayloadSchema.safeParse({ schemaVersion: 1, character: 'kai', prompt: 'x', width: 1020 });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('must be a multiple of 8');
  });
});
