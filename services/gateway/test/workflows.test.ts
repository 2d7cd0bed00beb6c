import { heldGrowth, streamedGet } from './held-memory';
import { jsonClient } from './http-client';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { portraitGraph, portraitParams } from './workflow-template-fixture';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('workflows', { queryTimeoutMs: 60_000 });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

const register = (body: Record<string, unknown>) => api.post('/api/v1/workflows', body);
const paths = (response: { body: { error: { details: { path: string }[] } } }) => response.body.error.details.map((d) => d.path);

describe('POST /api/v1/workflows', () => {
  it('when a template is registered, then it is version 1, and the same slug again is version 2, each readable and the second current', async () => {
    const first = await register({ slug: 'portrait', name: 'Portrait', graph: portraitGraph(), params: portraitParams() });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe('/api/v1/workflows/portrait/versions/1');
    expect(first.body).toMatchObject({ slug: 'portrait', version: 1, name: 'Portrait', graph: portraitGraph(), params: portraitParams(), warnings: [] });

    const graph2 = portraitGraph();
    graph2['5'].inputs.scheduler = 'karras';
    const second = await register({ slug: 'portrait', name: 'Portrait (karras)', graph: graph2, params: portraitParams(), note: 'karras scheduler' });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ slug: 'portrait', version: 2, note: 'karras scheduler' });

    const list = await api.get('/api/v1/workflows');
    expect(list.body.items).toEqual([
      { slug: 'txt2img', name: 'Built-in text-to-image', currentVersion: 1, builtIn: true },
      { slug: 'portrait', name: 'Portrait (karras)', currentVersion: 2, builtIn: false },
    ]);
    const detail = await api.get('/api/v1/workflows/portrait');
    expect(detail.body).toMatchObject({ slug: 'portrait', versionCount: 2, currentVersion: { number: 2, graph: graph2 } });
    const v1 = await api.get('/api/v1/workflows/portrait/versions/1');
    expect(v1.body).toMatchObject({ number: 1, name: 'Portrait', graph: portraitGraph() });
    expect((await api.get('/api/v1/workflows/portrait/versions')).body.items.map((v: { number: number }) => v.number)).toEqual([1, 2]);

    const missingVersion = await api.get('/api/v1/workflows/portrait/versions/3');
    expect(missingVersion.status).toBe(404);
    expect(missingVersion.body.error.code).toBe('version_not_found');
    const missing = await api.get('/api/v1/workflows/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'workflow_not_found', details: { available: ['txt2img@1', 'portrait@2'] } });
    expect((await api.get('/api/v1/workflows/txt2img')).body).toMatchObject({ slug: 'txt2img', builtIn: true, currentVersion: { number: 1 } });
    expect((await api.get('/api/v1/workflows/txt2img/versions')).body.items).toEqual([expect.objectContaining({ number: 1, graph: null })]);
    expect((await api.get('/api/v1/workflows/txt2img/versions/1')).body).toMatchObject({ number: 1, graph: null });
    // A version the built-in does not have is a missing version, as for a registered template.
    const noSuchVersion = await api.get('/api/v1/workflows/txt2img/versions/2');
    expect([noSuchVersion.status, noSuchVersion.body.error.code]).toEqual([404, 'version_not_found']);
  });

  it('when two registrations of a new slug race, then they become versions 1 and 2', async () => {
    const [a, b] = await Promise.all([
      register({ slug: 'racer', graph: portraitGraph(), params: portraitParams() }),
      register({ slug: 'racer', graph: portraitGraph(), params: portraitParams() }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.body.version, b.body.version].sort()).toEqual([1, 2]);
  });

  it('when a stored version is updated or deleted in the database, then the database refuses', async () => {
    await expect(gateway.db.$executeRaw`UPDATE workflow_template_versions SET "graph" = '{}'::jsonb`).rejects.toThrow(/immutable/);
    await expect(gateway.db.$executeRaw`DELETE FROM workflow_template_versions`).rejects.toThrow(/immutable/);
  });

  it('when a link points at a missing node or output, or the links loop, then it is 400 invalid_workflow naming each input', async () => {
    const graph = portraitGraph() as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    graph['5'].inputs.model = ['12', 0];
    graph['6'].inputs.vae = ['1', -1];
    graph['2'].inputs.clip = [1, 1];
    const response = await register({ slug: 'broken', graph, params: {} });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_workflow');
    expect(paths(response)).toEqual(['graph.2.inputs.clip', 'graph.5.inputs.model', 'graph.6.inputs.vae']);
    expect(response.body.error.message).toContain('links to node "12", which is not in the graph');

    const looped = portraitGraph() as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    looped['4'].inputs.width = ['6', 0];
    const cycle = await register({ slug: 'looped', graph: looped, params: {} });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.message).toMatch(/links form a cycle/);
    expect((await api.get('/api/v1/workflows/broken')).status).toBe(404);
  });

  it('when a parameter names a missing node or input, a link, a wrong type or a default out of bounds, then it is 400 invalid_workflow naming the parameter', async () => {
    const params = {
      ...portraitParams(),
      seed: { type: 'string', node: '5', input: 'seed' },
      cfg: { type: 'float', node: '5', input: 'cfg', default: 40, min: 1, max: 15 },
      denoise: { type: 'float', node: '55', input: 'denoise' },
      guidance: { type: 'float', node: '5', input: 'guidance' },
      model: { type: 'string', node: '5', input: 'model' },
      sampler_name: { type: 'enum', node: '5', input: 'sampler_name' },
    };
    const response = await register({ slug: 'bad-params', graph: portraitGraph(), params });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_workflow');
    expect(paths(response)).toEqual(['params.seed.type', 'params.cfg.default', 'params.sampler_name.options', 'params.denoise.node', 'params.guidance.input', 'params.model.input']);
  });

  it('when a graph has thousands of problems or a node thousands of inputs, then the answer names the first 50 problems and the first inputs, not all of them', async () => {
    // Once: 474 KB of body answered with 70 MB in 8 s (each of 100 parameters listing a node's 40,000 inputs).
    const inputs = Object.fromEntries(Array.from({ length: 40_000 }, (_, i) => [`in${i}`, 1]));
    const params = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, { type: 'int', node: '1', input: `missing${i}` }]));
    const wide = await register({ slug: 'wide', graph: { '1': { class_type: 'Wide', inputs }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } }, params });
    expect(wide.status).toBe(400);
    expect(wide.body.error.code).toBe('invalid_workflow');
    expect(wide.body.error.details).toHaveLength(51);
    expect(wide.body.error.details[50]).toEqual({ path: '(body)', message: 'and 50 more problems' });
    expect(wide.body.error.details[0].message).toContain('it has in0, in1, in2');
    expect(wide.body.error.details[0].message).toContain('and 39980 more');
    expect(JSON.stringify(wide.body).length).toBeLessThan(64 * 1024);

    // 28,000 links to nodes that are not there: one problem each.
    const dangling = Object.fromEntries(Array.from({ length: 2000 }, (_, n) => [String(n), { class_type: 'N', inputs: Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`x${i}`, [`gone${i}`, 0]])) }]));
    const broken = await register({ slug: 'dangling', graph: dangling, params: {} });
    expect(broken.status).toBe(400);
    expect(broken.body.error.details).toHaveLength(51);
    expect(broken.body.error.details[50]).toEqual({ path: '(body)', message: 'and 27950 more problems' });
    expect(JSON.stringify(broken.body).length).toBeLessThan(64 * 1024);
  });

  it('when the body has the wrong shape or takes the built-in slug, then it is 400 validation_failed naming the field', async () => {
    const shape = await register({ slug: 'Bad Slug', graph: { '1': { inputs: {} } }, params: { cfg: { type: 'double', node: '5', input: 'cfg' } } });
    expect(shape.status).toBe(400);
    expect(shape.body.error.code).toBe('validation_failed');
    expect(paths(shape)).toEqual(expect.arrayContaining(['slug', 'graph.1.class_type', 'params.cfg.type']));
    const reserved = await register({ slug: 'txt2img', graph: portraitGraph(), params: {} });
    expect(reserved.status).toBe(400);
    expect(paths(reserved)).toEqual(['slug']);
  });

  it('when params or graph hold a "__proto__" key, then it is 400 validation_failed naming it, not dropped and stored without it', async () => {
    // Built by JSON.parse, as the gateway's body parser builds it: "__proto__" is then an own key.
    const params = JSON.parse('{"__proto__":{"type":"int","node":"1","input":"x"}}');
    const viaParams = await register({ slug: 'proto-params', graph: portraitGraph(), params });
    expect(viaParams.status).toBe(400);
    expect(viaParams.body.error.code).toBe('validation_failed');
    expect(paths(viaParams)).toEqual(['params.__proto__']);
    const graph = { ...portraitGraph(), ...JSON.parse('{"__proto__":{"class_type":"SaveImage","inputs":{}}}') };
    expect(paths(await register({ slug: 'proto-graph', graph, params: {} }))).toEqual(['graph.__proto__']);
    const inputs = portraitGraph();
    Object.assign(inputs['7'], { inputs: { ...inputs['7'].inputs, ...JSON.parse('{"__proto__":1}') } });
    expect(paths(await register({ slug: 'proto-inputs', graph: inputs, params: {} }))).toEqual(['graph.7.inputs.__proto__']);
    expect(await gateway.db.workflowTemplate.count({ where: { slug: { startsWith: 'proto-' } } })).toBe(0);
  });

  it('when a graph literal is a number too large for JSON (1e999, read as Infinity), then it is 400 validation_failed naming graph, not stored as null', async () => {
    const body = JSON.stringify({ slug: 'huge-literal', graph: portraitGraph(), params: {} }).replace('"denoise":1', '"denoise":1e999');
    expect(body).toContain('1e999');
    const response = await fetch(`${gateway.baseUrl}/api/v1/workflows`, { method: 'POST', headers: { ...gateway.authHeaders, 'content-type': 'application/json' }, body });
    const answer = (await response.json()) as { error: { code: string; details: unknown } };
    expect(response.status).toBe(400);
    expect(answer.error.code).toBe('validation_failed');
    expect(answer.error.details).toEqual([{ path: 'graph', message: expect.stringContaining('too large for JSON') }]);
    expect(await gateway.db.workflowTemplate.count({ where: { slug: 'huge-literal' } })).toBe(0);
  });

  it('when the orchestrator has recorded what its backends offer, then registration warns about node classes and models none of them has', async () => {
    const offered = ['CheckpointLoaderSimple', 'CLIPTextEncode', 'EmptyLatentImage', 'KSampler', 'SaveImage'];
    await gateway.db.backend.create({ data: { id: 'b1', url: 'http://gpu-1:8188', state: 'up', checkpoints: ['other.safetensors'], nodeClasses: offered, capabilitiesAt: new Date() } });
    // A backend never asked yet says nothing either way.
    await gateway.db.backend.create({ data: { id: 'b2', url: 'http://gpu-2:8188', state: 'down' } });
    try {
      const response = await register({ slug: 'checked', graph: portraitGraph(), params: portraitParams() });
      expect(response.status).toBe(201);
      expect(response.body.warnings.map((w: { code: string; node: string }) => [w.code, w.node])).toEqual([['missing_model', '1'], ['missing_node_class', '6']]);
    } finally {
      await gateway.db.backend.deleteMany({});
    }
  });

  it('when the template has no seed or prompt parameter, then it is stored with warnings saying so', async () => {
    const response = await register({ slug: 'fixed', graph: portraitGraph(), params: { cfg: portraitParams().cfg } });
    expect(response.status).toBe(201);
    expect(response.body.warnings.map((w: { code: string }) => w.code)).toEqual(['no_seed_param', 'no_prompt_param']);
  });
});

describe('POST /api/v1/generations with a registered template', () => {
  const generate = (body: Record<string, unknown>) => api.post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop', ...body });
  const conditioningOf = async (id: string) => (await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).conditioning as { workflow: unknown };

  it('when a generation names the template and its params, then the version and the values (defaults filled in) are recorded', async () => {
    const response = await generate({ workflow: 'portrait', params: { cfg: 9 } });
    expect(response.status).toBe(202);
    expect((await conditioningOf(response.body.id)).workflow).toEqual({ slug: 'portrait', version: 2, params: { cfg: 9, sampler_name: 'euler' } });

    const pinned = await generate({ workflow: 'portrait@1', params: { sampler_name: 'uni_pc' } });
    expect(pinned.status).toBe(202);
    expect((await conditioningOf(pinned.body.id)).workflow).toEqual({ slug: 'portrait', version: 1, params: { cfg: 5.5, sampler_name: 'uni_pc' } });

    const builtIn = await generate({});
    expect((await conditioningOf(builtIn.body.id)).workflow).toEqual({ slug: 'txt2img', version: 1, params: {} });
  });

  it('when a parameter is unknown, of the wrong type, out of bounds, not an option or one the system fills, then it is 400 validation_failed naming params.<name>', async () => {
    const response = await generate({ workflow: 'portrait', params: { cfg: 40, sampler_name: 'nope', steps: 4, scheduler: 'karras', seed: 1 } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(paths(response)).toEqual(['params.cfg', 'params.sampler_name', 'params.steps', 'params.scheduler', 'params.seed']);
    expect(response.body.error.message).toContain('params.cfg: must be ≤ 15 (got 40)');
    expect(response.body.error.message).toContain('workflow portrait@2 has no parameter "scheduler"; it takes cfg, sampler_name');

    const typed = await generate({ workflow: 'portrait', params: { cfg: 'high' } });
    expect(paths(typed)).toEqual(['params.cfg']);
    const builtIn = await generate({ workflow: 'txt2img@1', params: { cfg: 7 } });
    expect(builtIn.status).toBe(400);
    expect(paths(builtIn)).toEqual(['params.cfg']);
    expect(await gateway.db.generationJob.count({ where: { conditioning: { path: ['workflow', 'params', 'cfg'], equals: 40 } } })).toBe(0);
  });

  it('when the workflow or its version does not exist, then it is 404 workflow_not_found listing what exists', async () => {
    for (const workflow of ['nope', 'portrait@9', 'txt2img@2']) {
      const response = await generate({ workflow });
      expect(response.status).toBe(404);
      expect(response.body.error).toMatchObject({ code: 'workflow_not_found', details: { workflow, available: expect.arrayContaining(['txt2img@1', 'portrait@2']) } });
    }
  });

  it('when params is too large or holds a nested value, then the body is refused', async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, i]));
    expect(paths(await generate({ workflow: 'portrait', params: many }))).toEqual(['params']);
    expect(paths(await generate({ workflow: 'portrait', params: { cfg: { value: 1 } } }))).toEqual(['params.cfg']);
  });

  it('when params holds a "__proto__" key, then it is 400 validation_failed naming params.__proto__, as any other unknown name is refused', async () => {
    for (const params of [JSON.parse('{"__proto__":1}'), JSON.parse('{"cfg":9,"__proto__":{"x":1}}')]) {
      const response = await generate({ workflow: 'portrait', params });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(paths(response)).toEqual(['params.__proto__']);
    }
  });
});

describe("a template's versions listed", () => {
  it('when a template has 120 versions of ~800 KB, then listing them in a page of the most (200) sends every one in order while the gateway holds less than 40 MiB more', async () => {
    const startedAt = Date.now();
    // A studio's CI registering its graph on every deploy gathers versions without end; each graph may be near the body limit.
    const first = await register({ slug: 'deployed', graph: portraitGraph(), params: portraitParams() });
    expect(first.status).toBe(201);
    const template = await gateway.db.workflowTemplate.findUniqueOrThrow({ where: { slug: 'deployed' } });
    const graph = { ...portraitGraph(), '9': { class_type: 'Note', inputs: { text: 'あ'.repeat(270_000) } } };
    for (let start = 2; start <= 120; start += 10) {
      const numbers = Array.from({ length: Math.min(10, 121 - start) }, (_, i) => start + i);
      await gateway.db.workflowTemplateVersion.createMany({ data: numbers.map((number) => ({ templateId: template.id, number, name: `deploy ${number}`, graph, params: portraitParams() })) });
    }
    const insertedAt = Date.now();
    // Said before the listing, so a run that times out still tells where its time went.
    console.log(`template versions list: 119 versions written in ${insertedAt - startedAt} ms`);
    const numbers: number[] = [];
    let tail = '';
    let bytes = 0;
    const grown = await heldGrowth(async () => {
      const status = await streamedGet(`${gateway.baseUrl}/api/v1/workflows/deployed/versions?limit=200`, gateway.authHeaders, (chunk) => {
        bytes += chunk.length;
        const text = tail + chunk.toString('latin1');
        for (const match of text.matchAll(/\{"number":(\d+),/g)) if (match.index + match[0].length > tail.length) numbers.push(Number(match[1]));
        tail = text.slice(-20);
      });
      expect(status).toBe(200);
    });
    console.log(`template versions list: ${(bytes / 1024 / 1024).toFixed(0)} MiB sent, held +${grown.toFixed(1)} MiB, listed in ${Date.now() - insertedAt} ms`);
    expect(numbers).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(tail.endsWith('],"nextCursor":null}')).toBe(true);
    expect(grown).toBeLessThan(40);
    // 2–8 s alone. Full CI runs once took 45 s, and over 120 s and 300 s: heldGrowth then collected a 1–2 GB jest worker heap every 250 ms (see held-memory.ts).
  }, 300_000);
});

describe('GET /api/v1/schemas/workflow', () => {
  it('when the registration schema is fetched, then it describes graph and params; the generation request schema has params', async () => {
    const workflow = await api.get('/api/v1/schemas/workflow');
    expect(workflow.status).toBe(200);
    expect(workflow.body.properties).toHaveProperty('graph');
    expect(workflow.body.properties.params.additionalProperties.properties.type.enum).toEqual(['int', 'float', 'string', 'boolean', 'enum', 'image', 'loras']);
    const request = await api.get('/api/v1/schemas/generation-request');
    expect(JSON.stringify(request.body)).toContain('"params"');
  });
});

describe('parameters named like Object.prototype members', () => {
  // Parameter names are letters, digits and "_": "constructor" or "toString" are as valid as "cfg",
  // and were once looked up on a plain object (a 500 at registration, defaults never filled).
  const params = () => ({
    ...portraitParams(),
    constructor: { type: 'float', node: '5', input: 'denoise', default: 0.5, min: 0, max: 1 },
    toString: { type: 'enum', node: '5', input: 'scheduler', options: ['normal', 'karras'], default: 'karras' },
    valueOf: { type: 'int', node: '4', input: 'batch_size', min: 1, max: 4 },
  });

  it('when a template has parameters named constructor, toString or valueOf, then it is registered and generations fill their defaults and take their values', async () => {
    const registered = await register({ slug: 'object-names', graph: portraitGraph(), params: params() });
    expect(registered.status).toBe(201);
    expect(registered.body.params).toEqual(params());

    const generate = (body: Record<string, unknown>) => api.post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop', workflow: 'object-names', ...body });
    const conditioningOf = async (id: string) => (await gateway.db.generationJob.findUniqueOrThrow({ where: { id } })).conditioning as { workflow: unknown };
    const defaults = await generate({});
    expect(defaults.status).toBe(202);
    expect((await conditioningOf(defaults.body.id)).workflow).toEqual({ slug: 'object-names', version: 1, params: { cfg: 5.5, sampler_name: 'euler', constructor: 0.5, toString: 'karras' } });

    const given = await generate({ params: { valueOf: 2, toString: 'normal' } });
    expect(given.status).toBe(202);
    expect((await conditioningOf(given.body.id)).workflow).toEqual({ slug: 'object-names', version: 1, params: { valueOf: 2, toString: 'normal', cfg: 5.5, sampler_name: 'euler', constructor: 0.5 } });
    expect(paths(await generate({ params: { valueOf: 9 } }))).toEqual(['params.valueOf']);
  });
});
