import { createLogger } from '@anime/logger';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { startTcpProxy, waitFor, type TcpProxy } from '@anime/testing';
import { Backend, SOCKET_SILENCE_TO_DOWN_MS } from './backend';

const log = createLogger('orchestrator', 'error');
/** The probe's bound on an answer (PROBE_TIMEOUT_MS). */
const PROBE_MS = 2_000;

/** Resolves at the first progress message of the prompt on the backend's socket. */
function progressOf(backend: Backend, promptId: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = backend.client.onMessage((message) => {
      if (message.type !== 'progress' || (message.data as { prompt_id?: string }).prompt_id !== promptId) return;
      stop();
      resolve();
    });
  });
}

/** Counts the GET /queue requests the backend's probe client makes (its own client: a job's reads are not counted). */
const probeQueueReads = (backend: Backend) => jest.spyOn(backend['probe'], 'queue');

/**
 * Two orchestrators' views of one ComfyUI (a Backend each, as two processes have): ComfyUI sends a
 * prompt's events to the client that queued it alone, so while the first's prompt runs, the second,
 * whose prompt waits behind it, hears nothing on its socket. Its probes timing out then (a slow
 * /system_stats) do not take the backend down while GET /queue, which asks torch nothing, names a prompt running.
 */
describe('Backend probed while /system_stats is slow and another client\'s prompt runs', () => {
  let sim: Simulator;
  let first: Backend;
  let second: Backend;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 100 });
    first = new Backend(sim.url, log, () => undefined);
    second = new Backend(sim.url, log, () => undefined);
    expect([await first.check(), await second.check()]).toEqual([true, true]);
  });

  afterEach(async () => {
    sim.misbehave();
    first.close();
    second.close();
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: '{}' });
    await sim.close();
  });

  it('when the second\'s socket has been silent past the bound, then its timed-out probes leave it up saying why, with one GET /queue at most per timed-out probe, and its waiting prompt runs once', async () => {
    const long = await first.client.submit(textToImage({ steps: 120, seed: 1 }));
    await progressOf(first, long.promptId);
    const waiting = await second.client.submit(textToImage({ steps: 2, seed: 2 }));
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: 3_000 });
    const queueReads = probeQueueReads(second);
    const lost = second.lost;

    const probesBefore = sim.misbehaviours.length;
    const silentAt = second.client.lastFrameAt;
    const results: boolean[] = [];
    // Well past the bound of silence: 5 probes of 2 s each.
    while (Date.now() - silentAt < SOCKET_SILENCE_TO_DOWN_MS + 2 * PROBE_MS) results.push(await second.check());

    expect(Date.now() - second.client.lastFrameAt).toBeGreaterThan(SOCKET_SILENCE_TO_DOWN_MS);
    expect(results.every(Boolean)).toBe(true);
    expect(lost.aborted).toBe(false);
    expect(second.lastError).toMatch(new RegExp(`GET /system_stats: ECONNABORTED.*its socket silent, GET /queue answered with prompt ${long.promptId} running: busy, not down$`));
    const timedOut = sim.misbehaviours.length - probesBefore;
    expect(timedOut).toBe(results.length);
    expect(queueReads.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(queueReads.mock.calls.length).toBeLessThanOrEqual(timedOut);

    // The first's prompt taken off: the second's runs, once, where it was queued.
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: JSON.stringify({ prompt_id: long.promptId }) });
    const entry = await waitFor(async () => (await second.client.history(waiting.promptId)) ?? null, 'the waiting prompt to end', 10_000, 100);
    expect(entry.status?.status_str).toBe('success');
    expect(sim.received.filter((p) => p.promptId === waiting.promptId)).toHaveLength(1);
  }, 40_000);

  it('when nothing runs any more and the socket is silent, then a timed-out probe takes it down as ever', async () => {
    const short = await first.client.submit(textToImage({ steps: 2, seed: 3 }));
    await waitFor(async () => (await first.client.history(short.promptId)) ?? null, 'the prompt to end', 10_000, 100);
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: 3_000 });
    const lost = second.lost;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, SOCKET_SILENCE_TO_DOWN_MS - PROBE_MS - (Date.now() - second.client.lastFrameAt))));

    expect(await second.check()).toBe(true);
    expect(await second.check()).toBe(false);
    expect(lost.aborted).toBe(true);
    expect(second.lastError).toMatch(/GET \/system_stats: ECONNABORTED\)$/);
  }, 30_000);
});

/** A frozen ComfyUI (no byte either way: SIGSTOP, a partition) says nothing on /queue either: it is taken down no later than before. */
describe('Backend probed while its ComfyUI is frozen mid-prompt (a TCP proxy passing nothing)', () => {
  let sim: Simulator;
  let proxy: TcpProxy;
  let backend: Backend;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 100 });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: sim.port });
    backend = new Backend(proxy.urlFor(sim.url), log, () => undefined);
    expect(await backend.check()).toBe(true);
  });

  afterEach(async () => {
    backend.close();
    proxy.heal();
    await proxy.close();
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: '{}' });
    await sim.close();
  });

  it('when probes go on every 2 s, then the probe ending first past the bound of silence takes it down, its GET /queue asked alongside it rather than after', async () => {
    const { promptId } = await backend.client.submit(textToImage({ steps: 150, seed: 4 }));
    await progressOf(backend, promptId);
    const queueReads = probeQueueReads(backend);
    proxy.blackHole();
    const frozenAt = Date.now();

    let probes = 0;
    while ((await backend.check()) && probes < 10) probes++;
    const downAfterMs = Date.now() - frozenAt;

    expect(backend.lost.aborted).toBe(true);
    // 3 probes of 2 s: the third ends past 5 s of silence. Asked after it, /queue would add its own 2 s.
    expect(downAfterMs).toBeLessThan(SOCKET_SILENCE_TO_DOWN_MS + PROBE_MS);
    expect(queueReads).toHaveBeenCalledTimes(1);
    expect(backend.lastError).toMatch(/GET \/system_stats: ECONNABORTED\)$/);
  }, 30_000);
});
