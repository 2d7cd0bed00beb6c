import { createLogger } from '@anime/logger';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import { Backend, SOCKET_SILENCE_TO_DOWN_MS } from './backend';

const log = createLogger('orchestrator', 'error');

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

/**
 * The probe's GET /system_stats past its 2 s bound (ComfyUI asks torch for the device's memory on
 * its event loop, slow while a checkpoint loads or a node holds the GIL): the backend is down only
 * once its socket is silent too; a probe refused, or answered with what ComfyUI does not answer, counts as ever.
 */
describe('Backend probed while /system_stats is slow', () => {
  let sim: Simulator;
  let backend: Backend;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 100 });
    backend = new Backend(sim.url, log, () => undefined);
    expect(await backend.check()).toBe(true);
  });

  afterEach(async () => {
    backend.close();
    await sim.close();
  });

  it('when probes time out while the prompt sends progress, then it stays up saying why; once the socket has been silent past the bound, the next timed-out probe takes it down', async () => {
    const { promptId } = await backend.client.submit(textToImage({ steps: 150, seed: 1 }));
    await progressOf(backend, promptId);
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: 3_000 });

    const lost = backend.lost;
    for (let probe = 0; probe < 3; probe++) expect(await backend.check()).toBe(true);
    expect(lost.aborted).toBe(false);
    expect(backend.lastError).toMatch(/GET \/system_stats: ECONNABORTED.*its WebSocket delivered events within the last 5 s: busy, not down$/);

    // The prompt ends: nothing more comes on the socket.
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: '{}' });
    await waitFor(async () => (await backend.client.history(promptId)) ?? null, 'the prompt to end');
    await new Promise((resolve) => setTimeout(resolve, SOCKET_SILENCE_TO_DOWN_MS + 200 - (Date.now() - backend.client.lastFrameAt)));
    expect(await backend.check()).toBe(false);
    expect(lost.aborted).toBe(true);
  }, 40_000);

  it('when probes are answered with something that is not ComfyUI\'s while the prompt sends progress, then two take it down as ever', async () => {
    const { promptId } = await backend.client.submit(textToImage({ steps: 150, seed: 2 }));
    await progressOf(backend, promptId);
    // A proxy's page in place of ComfyUI's answer: an answer, not a slow one.
    sim.misbehave({ kind: 'not_json', path: '/system_stats' });

    expect(await backend.check()).toBe(true);
    expect(await backend.check()).toBe(false);
    expect(Date.now() - backend.client.lastFrameAt).toBeLessThan(SOCKET_SILENCE_TO_DOWN_MS);
    expect(backend.lost.aborted).toBe(true);
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: '{}' });
  });
});
