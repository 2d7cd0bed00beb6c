import { createServer } from 'node:net';
import { createLogger } from '@anime/logger';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { Backend } from './backend';

const log = createLogger('orchestrator', 'error');

/**
 * BACKEND_UNREACHABLE_GRACE_S: routing gives up on a backend whose models are unknown only once it
 * has not answered for the grace, counted from the probe that began its present run of failures
 * (failingSince). A probe answered in full ends the run; one whose /system_stats answers but whose
 * /object_info cannot be read does not (the backend is down all along), or it would never be given up on.
 */
describe('Backend: since when it has not answered (unreachableFor)', () => {
  let sim: Simulator | undefined;
  let backend: Backend | undefined;

  afterEach(async () => {
    backend?.close();
    await sim?.close();
    backend = sim = undefined;
  });

  it('when nothing listens at its URL, then it is unreachable only once the grace has passed since its first probe began, and at once with a grace of 0', async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const before = Date.now();
    backend = new Backend(`http://127.0.0.1:${port}`, log, () => undefined);
    expect(backend.unreachableFor(0)).toBeUndefined();
    expect(await backend.check()).toBe(false);
    expect(await backend.check()).toBe(false);
    const since = backend.failingSince!;
    expect(since).toBeGreaterThanOrEqual(before);
    expect(backend.unreachableFor(0)).toEqual(expect.any(String));
    expect(backend.unreachableFor(10_000, since + 9_999)).toBeUndefined();
    expect(backend.unreachableFor(10_000, since + 10_000)).toBe(backend.unreachableBecause);
  });

  it('when /system_stats answers but /object_info cannot be read, then its failing goes on from its first probe; once it answers in full, the run ends and a later failure starts a new one', async () => {
    sim = await startSimulator({ stepMs: 1, misbehave: { kind: 'not_json', path: '/object_info' } });
    backend = new Backend(sim.url, log, () => undefined);
    expect(await backend.check()).toBe(false);
    const since = backend.failingSince!;
    expect(since).toEqual(expect.any(Number));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await backend.check()).toBe(false);
    expect(backend.failingSince).toBe(since);
    expect(backend.unreachableFor(10_000, since + 10_000)).toEqual(expect.any(String));

    sim.misbehave();
    expect(await backend.check()).toBe(true);
    expect(backend.failingSince).toBeUndefined();
    expect(backend.unreachableFor(0)).toBeUndefined();
    expect(backend.capabilities).not.toBeNull();

    // Down again (its probes answered with what ComfyUI does not send: two take it down): a new run.
    sim.misbehave({ kind: 'not_json', path: '/system_stats' });
    const again = Date.now();
    expect(await backend.check()).toBe(true);
    expect(await backend.check()).toBe(false);
    expect(backend.failingSince).toBeGreaterThanOrEqual(again);
    expect(backend.unreachableFor(10_000, backend.failingSince! + 9_999)).toBeUndefined();
  });
});
