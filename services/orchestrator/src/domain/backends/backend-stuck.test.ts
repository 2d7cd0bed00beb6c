import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@anime/logger';
import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import { Backend } from './backend';

const log = createLogger('orchestrator', 'error');

/**
 * A ComfyUI answering HTTP whose worker runs prompt `p` for good (or, once `running` is emptied, runs
 * nothing). A path in `held` is answered only once its release is called: a probe is caught mid-way.
 */
function fakeComfy() {
  const held = new Map<string, { arrived: Promise<void>; arrive: () => void; release: () => void; released: Promise<void> }>();
  const state = { running: ['p'], queueReads: 0 };
  const hold = (path: string) => {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const entry = { arrived, arrive, release, released };
    held.set(path, entry);
    return entry;
  };
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry = held.get(path);
    if (entry) {
      entry.arrive();
      await entry.released;
    }
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/system_stats') return json({ system: {}, devices: [] });
    if (path === '/object_info') return json({ CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors']] } } } });
    if (path === '/queue') state.queueReads++;
    if (path === '/queue') return json({ queue_running: state.running.map((id, i) => [i, id, {}, {}, []]), queue_pending: [] });
    if (path === '/prompt') return json({ exec_info: { queue_remaining: state.running.length } });
    res.writeHead(404).end();
  };
  const server: Server = createServer((req, res) => void answer(req, res));
  return { server, hold, state, held };
}

describe('Backend stuck on a prompt', () => {
  let comfy: ReturnType<typeof fakeComfy>;
  let url: string;
  let backend: Backend | undefined;

  beforeEach(async () => {
    comfy = fakeComfy();
    await new Promise<void>((resolve) => comfy.server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(comfy.server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const entry of comfy.held.values()) entry.release();
    backend?.close();
    comfy.server.closeAllConnections();
    await new Promise((resolve) => comfy.server.close(resolve));
  });

  it('when it is found stuck while a probe of a down backend reads its models, then that probe does not take it for up, nor do the next ones while the prompt runs', async () => {
    backend = new Backend(url, log, () => undefined);
    const models = comfy.hold('/object_info');
    const probe = backend.check();
    await models.arrived;
    // Another orchestrator's record, read meanwhile (or an interrupt of ours ignored).
    backend.markStuck('p', { seenHere: false });
    models.release();
    comfy.held.delete('/object_info');
    expect(await probe).toBe(false);
    expect(backend.up).toBe(false);
    expect(await backend.check()).toBe(false);
    expect(backend.lastError).toMatch(/^ComfyUI's worker is stuck: prompt p/);

    // ComfyUI lets go: up again.
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
  });

  it('when it is found stuck while a probe of an up backend reads its queue length, then that probe does not take it for up again', async () => {
    backend = new Backend(url, log, () => undefined);
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    comfy.state.running = ['p'];
    const length = comfy.hold('/prompt');
    const probe = backend.check();
    await length.arrived;
    backend.markStuck('p');
    length.release();
    comfy.held.delete('/prompt');
    expect(await probe).toBe(false);
    expect(backend.up).toBe(false);
    expect(await backend.check()).toBe(false);
  });

  it('when a read of the flags made before this process saw ComfyUI let go of the prompt still shows it stuck, then it is not taken for down again', async () => {
    const lost: unknown[] = [];
    backend = new Backend(url, log, () => undefined);
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    comfy.state.running = ['p'];
    backend.markStuck('p');
    expect(await backend.check()).toBe(false);
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    backend.lost.addEventListener('abort', () => lost.push(backend!.lost.reason));
    // The row still names it (its clearing write not committed when the read was made).
    backend.markStuck('p', { seenHere: false });
    expect(backend.up).toBe(true);
    expect(backend.stuckPromptId).toBeUndefined();
    expect(lost).toEqual([]);
  });
  it("when another orchestrator's record names a prompt ComfyUI no longer runs (read before it cleared the row), then the backend is not taken for down, nothing it holds is lost, and the record is checked once however often it is read", async () => {
    const lost: unknown[] = [];
    backend = new Backend(url, log, () => undefined);
    comfy.state.running = ['healthy'];
    expect(await backend.check()).toBe(true);
    backend.lost.addEventListener('abort', () => lost.push(backend!.lost.reason));
    const reads = comfy.state.queueReads;
    await Promise.all([backend.adoptStuck('p', new Date()), backend.adoptStuck('p', new Date())]);
    await backend.adoptStuck('p', new Date());
    expect(comfy.state.queueReads - reads).toBe(1);
    expect(backend.up).toBe(true);
    expect(backend.stuckPromptId).toBeUndefined();
    expect(lost).toEqual([]);
  });

  it("when another orchestrator's record names the prompt ComfyUI still runs, then the backend is taken for down, stuck since the record's time, and this process records nothing of its own", async () => {
    const recorded: unknown[] = [];
    backend = new Backend(url, log, () => undefined, (_, promptId, stuck) => recorded.push([promptId, stuck]));
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    comfy.state.running = ['p'];
    const since = new Date(Date.now() - 60_000);
    await backend.adoptStuck('p', since);
    expect(backend.up).toBe(false);
    expect(backend.stuckPromptId).toBe('p');
    expect(backend.stuckSince).toEqual(since);
    expect(recorded).toEqual([]);
    // Read again: no second look at ComfyUI's queue.
    const reads = comfy.state.queueReads;
    await backend.adoptStuck('p', since);
    expect(comfy.state.queueReads).toBe(reads);
  });

  it('when a second prompt goes on running past its interrupt while the backend is taken for stuck on a first, then it is stuck on the second (recorded as replacing the first), and stays down once the first is gone', async () => {
    const recorded: unknown[] = [];
    backend = new Backend(url, log, () => undefined, (_, promptId, stuck, replacing) => recorded.push([promptId, stuck, replacing]));
    backend.markStuck('p');
    expect(await backend.check()).toBe(false);
    // ComfyUI let go of p, and q, run next, hangs: its interrupt ignored, seen here.
    comfy.state.running = ['q'];
    backend.markStuck('q');
    expect(backend.stuckPromptId).toBe('q');
    expect(await backend.check()).toBe(false);
    expect(backend.lastError).toMatch(/^ComfyUI's worker is stuck: prompt q/);
    expect(recorded).toEqual([
      ['p', true, undefined],
      ['q', true, 'p'],
    ]);
    // The row read before its replacement still names p: not taken back.
    backend.markStuck('p', { seenHere: false });
    expect(backend.stuckPromptId).toBe('q');
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    expect(recorded.at(-1)).toEqual(['q', false, undefined]);
  });

  it("when a second prompt is found stuck while a probe reads whether ComfyUI still runs the first, then that probe (the first let go of) neither clears the second nor takes the backend for up", async () => {
    const recorded: unknown[] = [];
    backend = new Backend(url, log, () => undefined, (_, promptId, stuck, replacing) => recorded.push([promptId, stuck, replacing]));
    backend.markStuck('p');
    // ComfyUI let go of p and runs q; the probe's /queue read is caught mid-way.
    comfy.state.running = ['q'];
    const queue = comfy.hold('/queue');
    const probe = backend.check();
    await queue.arrived;
    // q's interrupt ignored meanwhile, seen here.
    backend.markStuck('q');
    queue.release();
    comfy.held.delete('/queue');
    expect(await probe).toBe(false);
    expect(backend.up).toBe(false);
    expect(backend.stuckPromptId).toBe('q');
    expect(recorded).toEqual([
      ['p', true, undefined],
      ['q', true, 'p'],
    ]);
    // And q is still told by the next probes: down while it runs, up once ComfyUI lets go of it.
    expect(await backend.check()).toBe(false);
    comfy.state.running = [];
    expect(await backend.check()).toBe(true);
    expect(recorded.at(-1)).toEqual(['q', false, undefined]);
  });
});

/**
 * A busy ComfyUI's /queue is past what the client reads: whether the prompt it was stuck on still
 * runs is told by its history (written once the worker is done with it), not taken for "still stuck".
 */
describe('Backend stuck on a prompt, its /queue too large to read (simulator)', () => {
  let sim: Simulator;
  let client: ComfyClient;
  let backend: Backend | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5 });
    client = new ComfyClient({ baseUrl: sim.url });
  });

  afterAll(async () => {
    backend?.close();
    client.close();
    sim.releaseWorker();
    await sim.close();
  });

  it('when ComfyUI lets go of the prompt while /queue cannot be read, then the next probe takes the backend for up (its history tells), and not before', async () => {
    sim.hangWorker();
    await client.submit(textToImage({ steps: 2, width: 64, height: 64, seed: 1 }), { promptId: 'hung' });
    await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === 'hung') || null, 'the prompt to hang');
    backend = new Backend(sim.url, log, () => undefined);
    backend.markStuck('hung');
    sim.misbehave({ kind: 'oversized', path: '/queue', bytes: 100 * 1024 * 1024, declared: true });
    try {
      // Running still (no history): down.
      expect(await backend.check()).toBe(false);
      sim.releaseWorker();
      await waitFor(async () => (await client.history('hung')) ?? null, 'the prompt to end');
      expect(await backend.check()).toBe(true);
      expect(backend.stuckPromptId).toBeUndefined();
    } finally {
      sim.misbehave(undefined);
    }
  });
});
