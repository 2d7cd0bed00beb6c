import { routeJob, type RouteCandidate } from './route-job';

const caps = (checkpoints: string[], loras: string[] = [], nodeClasses: string[] = ['CheckpointLoaderSimple', 'KSampler']) => ({ checkpoints, loras, nodeClasses, ipAdapter: false });
const backend = (url: string, over: Partial<RouteCandidate> = {}): RouteCandidate => ({ url, up: true, draining: false, capabilities: caps(['a.safetensors']), load: 0, lastCheckpoint: null, ...over });
const needs = (over: Partial<{ checkpoint: string; templateCheckpoint: string; loadsCheckpoint: boolean; loras: string[]; nodeClasses: string[]; ipAdapter: boolean; prefersIpAdapter: boolean; avoid: string }> = {}) => ({ loras: [], nodeClasses: [], ...over });
const options = { capacity: 2 };

describe('routeJob', () => {
  it('when only one backend has the checkpoint and LoRA, then the job goes there with that checkpoint', () => {
    const pool = [backend('http://a', { capabilities: caps(['a.safetensors'], ['x']) }), backend('http://b', { capabilities: caps(['b.safetensors'], ['x']) })];
    expect(routeJob(pool, needs({ checkpoint: 'b.safetensors', loras: ['x'] }), options)).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'b.safetensors' });
  });

  it('when no backend has what the job needs, then it is refused naming what is missing', () => {
    const pool = [backend('http://a'), backend('http://b')];
    const route = routeJob(pool, needs({ loras: ['nobody.safetensors'] }), options);
    expect(route).toMatchObject({ kind: 'none', details: { missing: ['LoRA "nobody.safetensors"'] } });
    expect(route.kind === 'none' && route.message).toMatch(/no backend has LoRA "nobody.safetensors"/);
    const namedDefault = routeJob(pool, needs({ checkpoint: 'z.safetensors' }), { ...options, defaultCheckpoint: 'd.safetensors' });
    expect(namedDefault).toMatchObject({ kind: 'none', details: { missing: ['checkpoint "d.safetensors"'] } });
  });

  it('when the character names a checkpoint no backend has, then DEFAULT_CHECKPOINT is used, else the chosen backend\'s first (CONTRACT: checkpoint choice), never the missing name', () => {
    const pool = [backend('http://a', { capabilities: caps(['a.safetensors']) }), backend('http://b', { capabilities: caps(['b.safetensors', 'd.safetensors']) })];
    expect(routeJob(pool, needs({ checkpoint: 'z.safetensors' }), { ...options, defaultCheckpoint: 'd.safetensors' })).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'd.safetensors' });
    expect(routeJob(pool, needs({ checkpoint: 'z.safetensors' }), options)).toEqual({ kind: 'run', url: 'http://a', checkpoint: 'a.safetensors' });
    expect(routeJob([backend('http://e', { capabilities: caps([]) })], needs({ checkpoint: 'z.safetensors' }), options)).toMatchObject({ kind: 'none', details: { missing: ['any checkpoint'] } });
  });

  it('when the models exist but on different backends, then it is refused naming what each lacks', () => {
    const pool = [backend('http://a', { capabilities: caps(['a.safetensors'], []) }), backend('http://b', { capabilities: caps(['b.safetensors'], ['x']) })];
    const route = routeJob(pool, needs({ checkpoint: 'a.safetensors', loras: ['x'] }), options);
    expect(route.kind === 'none' && route.message).toMatch(/http:\/\/a lacks LoRA "x"; http:\/\/b lacks checkpoint "a.safetensors"/);
  });

  it('when the job just failed on a backend with a transient fault, then another capable one takes it, and the same one only when it is the only one', () => {
    const pool = [backend('http://a', { lastCheckpoint: 'a.safetensors' }), backend('http://b', { load: 1 })];
    expect(routeJob(pool, needs({ avoid: 'http://a' }), options)).toMatchObject({ kind: 'run', url: 'http://b' });
    expect(routeJob([backend('http://a')], needs({ avoid: 'http://a' }), options)).toMatchObject({ kind: 'run', url: 'http://a' });
  });

  it('when the capable backend is down or draining, then the job waits; an unknown backend also makes it wait rather than fail', () => {
    expect(routeJob([backend('http://a', { up: false }), backend('http://b', { capabilities: caps(['b.safetensors']) })], needs({ checkpoint: 'a.safetensors' }), options).kind).toBe('wait');
    expect(routeJob([backend('http://a', { draining: true })], needs(), options).kind).toBe('wait');
    expect(routeJob([backend('http://a', { capabilities: null, up: false })], needs({ checkpoint: 'q' }), options).kind).toBe('wait');
  });

  it('when a backend whose models are unknown is down (its probe got no answer) and none that answers can run the job, then it is refused naming what is missing and the backend it could not ask', () => {
    const dead = backend('http://dead', { capabilities: null, up: false, unreachable: 'connect ECONNREFUSED 127.0.0.1:9' });
    const route = routeJob([backend('http://a'), backend('http://b'), dead], needs({ loras: ['nobody.safetensors'] }), options);
    expect(route).toMatchObject({
      kind: 'none',
      details: { missing: ['LoRA "nobody.safetensors"'], backends: [{ url: 'http://a' }, { url: 'http://b' }], unreachable: [{ url: 'http://dead', error: 'connect ECONNREFUSED 127.0.0.1:9' }] },
    });
    expect(route.kind === 'none' && route.message).toBe('no backend with known models has LoRA "nobody.safetensors" (of 2 backends: http://a, http://b); could not ask http://dead (unreachable, its models unknown: connect ECONNREFUSED 127.0.0.1:9)');
    // One that can run it is used, the dead one notwithstanding; with none unreachable the message is as ever.
    expect(routeJob([backend('http://a'), dead], needs(), options)).toMatchObject({ kind: 'run', url: 'http://a' });
    const plain = routeJob([backend('http://a')], needs({ loras: ['nobody.safetensors'] }), options);
    expect(plain).toMatchObject({ kind: 'none', message: 'no backend has LoRA "nobody.safetensors" (of 1 backend: http://a)', details: { unreachable: [] } });
  });

  it('when a backend whose models are unknown has not been probed yet, answers while its models are read, or no backend answers at all, then the job waits rather than fail', () => {
    const lacking = backend('http://a');
    const dead = backend('http://dead', { capabilities: null, up: false, unreachable: 'connect ECONNREFUSED' });
    const wants = needs({ loras: ['nobody.safetensors'] });
    // Not probed yet (up false, no failure known), or answering though its models are not known yet.
    expect(routeJob([lacking, backend('http://new', { capabilities: null, up: false })], wants, options)).toMatchObject({ kind: 'wait', full: false, reason: expect.stringContaining('waiting to learn the models of http://new') });
    expect(routeJob([lacking, dead, backend('http://new', { capabilities: null, up: true })], wants, options).kind).toBe('wait');
    // Nothing answers (every ComfyUI still starting): the stored models of a down one do not fail it either.
    expect(routeJob([dead], wants, options).kind).toBe('wait');
    expect(routeJob([backend('http://a', { up: false, unreachable: 'timed out' }), dead], wants, options).kind).toBe('wait');
  });

  it('when nothing names a checkpoint, then DEFAULT_CHECKPOINT is required, else each backend\'s first is used', () => {
    const pool = [backend('http://a', { capabilities: caps(['a.safetensors']) }), backend('http://b', { capabilities: caps(['b.safetensors', 'd.safetensors']) })];
    expect(routeJob(pool, needs(), { ...options, defaultCheckpoint: 'd.safetensors' })).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'd.safetensors' });
    expect(routeJob(pool, needs(), options)).toEqual({ kind: 'run', url: 'http://a', checkpoint: 'a.safetensors' });
    expect(routeJob([backend('http://e', { capabilities: caps([]) })], needs(), options).kind).toBe('none');
  });

  it('when a template\'s own checkpoint (default or literal) is on no backend, then DEFAULT_CHECKPOINT is used, else the chosen backend\'s first; on a backend it is used', () => {
    const pool = [backend('http://a', { capabilities: caps(['a.safetensors']) }), backend('http://b', { capabilities: caps(['b.safetensors', 'd.safetensors']) })];
    expect(routeJob(pool, needs({ templateCheckpoint: 'studio.safetensors' }), { ...options, defaultCheckpoint: 'd.safetensors' })).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'd.safetensors' });
    expect(routeJob(pool, needs({ templateCheckpoint: 'studio.safetensors' }), options)).toEqual({ kind: 'run', url: 'http://a', checkpoint: 'a.safetensors' });
    expect(routeJob(pool, needs({ templateCheckpoint: 'b.safetensors' }), options)).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'b.safetensors' });
    // The character's own checkpoint comes first; one no backend has gives way to the template's.
    expect(routeJob(pool, needs({ checkpoint: 'a.safetensors', templateCheckpoint: 'b.safetensors' }), options)).toEqual({ kind: 'run', url: 'http://a', checkpoint: 'a.safetensors' });
    expect(routeJob(pool, needs({ checkpoint: 'z.safetensors', templateCheckpoint: 'b.safetensors' }), options)).toEqual({ kind: 'run', url: 'http://b', checkpoint: 'b.safetensors' });
    // A backend with no checkpoint at all still cannot run it.
    expect(routeJob([backend('http://e', { capabilities: caps([]) })], needs({ templateCheckpoint: 'studio.safetensors' }), options)).toMatchObject({ kind: 'none', details: { missing: ['any checkpoint'] } });
  });

  it('when the graph loads no checkpoint, then a backend without any runs it, DEFAULT_CHECKPOINT is not asked for, and no checkpoint is chosen', () => {
    const bare = backend('http://bare', { capabilities: caps([], [], ['EmptyImage', 'SaveImage']) });
    expect(routeJob([bare], needs({ loadsCheckpoint: false }), { ...options, defaultCheckpoint: 'd.safetensors' })).toEqual({ kind: 'run', url: 'http://bare', checkpoint: '' });
    expect(routeJob([bare], needs(), options)).toMatchObject({ kind: 'none', details: { missing: ['any checkpoint'] } });
    const pool = [backend('http://a', { load: 1, lastCheckpoint: 'a.safetensors' }), backend('http://b', { load: 0 })];
    expect(routeJob(pool, needs({ loadsCheckpoint: false }), options)).toMatchObject({ url: 'http://b', checkpoint: '' });
  });

  it('when the graph needs a node class a backend lacks, then that backend is not chosen', () => {
    const pool = [backend('http://a'), backend('http://b', { capabilities: caps(['a.safetensors'], [], ['CheckpointLoaderSimple', 'KSampler', 'IPAdapter']) })];
    expect(routeJob(pool, needs({ nodeClasses: ['IPAdapter'] }), options)).toMatchObject({ url: 'http://b' });
  });

  it('when references are "auto", then a backend with IP-Adapter and room is preferred over a plain one, but a full one is not waited for', () => {
    const plain = backend('http://plain', { load: 0, lastCheckpoint: 'a.safetensors' });
    const adapter = backend('http://adapter', { load: 1, capabilities: { ...caps(['a.safetensors']), ipAdapter: true } });
    expect(routeJob([plain, adapter], needs({ prefersIpAdapter: true }), options)).toMatchObject({ kind: 'run', url: 'http://adapter' });
    expect(routeJob([plain, adapter], needs(), options)).toMatchObject({ kind: 'run', url: 'http://plain' });
    expect(routeJob([plain, { ...adapter, load: 2 }], needs({ prefersIpAdapter: true }), options)).toMatchObject({ kind: 'run', url: 'http://plain' });
  });

  it('when references are required, then only a backend with IP-Adapter is chosen, and with none the refusal names IP-Adapter', () => {
    const pool = [backend('http://a', { load: 0 }), backend('http://b', { load: 1, capabilities: { ...caps(['a.safetensors']), ipAdapter: true } })];
    expect(routeJob(pool, needs({ ipAdapter: true }), options)).toMatchObject({ kind: 'run', url: 'http://b' });
    const route = routeJob([pool[0]], needs({ ipAdapter: true }), options);
    expect(route).toMatchObject({ kind: 'none', details: { ipAdapter: true, missing: [expect.stringContaining('IP-Adapter nodes (ComfyUI_IPAdapter_plus)')] } });
  });

  it('when backends have room, then the one whose last prompt used the checkpoint wins, then the least loaded; a full one comes last', () => {
    const pool = [backend('http://a', { load: 1 }), backend('http://b', { load: 0 }), backend('http://c', { load: 1, lastCheckpoint: 'a.safetensors' })];
    expect(routeJob(pool, needs(), options)).toMatchObject({ url: 'http://c' });
    pool[2].load = 2;
    expect(routeJob(pool, needs(), options)).toMatchObject({ url: 'http://b' });
  });

  it('when every capable backend is full, then the job waits (naming them) rather than piling into one; another with room takes it', () => {
    const a = backend('http://a', { load: 2 });
    const b = backend('http://b', { load: 0, capabilities: caps(['b.safetensors']) });
    expect(routeJob([a, b], needs({ checkpoint: 'a.safetensors' }), options)).toMatchObject({ kind: 'wait', full: true, backends: ['http://a'], reason: expect.stringContaining('every capable backend is full (2 prompts each): http://a') });
    expect(routeJob([a, { ...b, capabilities: caps(['a.safetensors']) }], needs({ checkpoint: 'a.safetensors' }), options)).toMatchObject({ kind: 'run', url: 'http://b' });
    expect(routeJob([a, { ...a, url: 'http://c', load: 1 }], needs({ avoid: 'http://c' }), options)).toMatchObject({ kind: 'run', url: 'http://c' });
  });

  it('when backends are equal, then they take turns', () => {
    const pool = [backend('http://a'), backend('http://b'), backend('http://c')];
    expect([0, 1, 2].map((turn) => (routeJob(pool, needs(), { ...options, turn }) as { url: string }).url)).toEqual(['http://a', 'http://b', 'http://c']);
  });
});
