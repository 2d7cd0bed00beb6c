import { startSimulator, textToImage, type Simulator } from '../src';
import { getJson, postJson, waitForHistory } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * A node that never returns, or the prompt worker thread dead of an exception outside any node's try
 * (comfyui-protocol.md §10): HTTP goes on answering, the prompt stays in queue_running, nothing behind
 * it runs, and an interrupt only sets a flag nobody checks.
 */
describe('a hung worker', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 5 });
    ws = await WsRecorder.connect(sim.url, 'h');
  });

  afterEach(async () => {
    ws.close();
    await sim.close();
  });

  const queued = async () => {
    const queue = (await getJson(sim.url, '/queue')) as { queue_running: unknown[][]; queue_pending: unknown[][] };
    return { running: queue.queue_running.map((item) => item[1]), pending: queue.queue_pending.map((item) => item[1]) };
  };

  it('when the worker hangs, then its prompt stays running through an interrupt, the next waits, and once released the interrupt takes effect and the next runs', async () => {
    await postJson(sim.url, '/sim/hang', {});
    const stuck = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2, seed: 1 }), client_id: 'h' })).json.prompt_id as string;
    const next = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2, seed: 2 }), client_id: 'h' })).json.prompt_id as string;
    await ws.waitFor((m) => m.type === 'executing' && m.data.prompt_id === stuck);
    expect((await postJson(sim.url, '/interrupt', { prompt_id: stuck })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await queued()).toEqual({ running: [stuck], pending: [next] });
    expect((await getJson(sim.url, '/system_stats')).system).toBeDefined();

    expect((await postJson(sim.url, '/sim/hang', { release: true })).json).toEqual({ hanging: false });
    expect((await waitForHistory(sim.url, stuck)).status.messages.at(-1)[0]).toBe('execution_interrupted');
    expect((await waitForHistory(sim.url, next)).status.status_str).toBe('success');
  });

  it('when /sim/hang is given something other than a boolean release, then it is a 400 and nothing hangs', async () => {
    expect((await postJson(sim.url, '/sim/hang', { release: 'yes' })).status).toBe(400);
    const promptId = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2, seed: 3 }), client_id: 'h' })).json.prompt_id as string;
    expect((await waitForHistory(sim.url, promptId)).status.status_str).toBe('success');
  });
});
