import { startSimulator, textToImage, type Simulator } from '../src';
import { getJson, postJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * GET /system_stats slow while a prompt runs (its handler asks torch for the device's memory on
 * aiohttp's event loop): the `delayed` misbehaviour answers one route late, as ComfyUI would, while
 * the prompt's WebSocket messages and every other route keep their pace.
 */
describe('a route armed as delayed', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 50 });
    ws = await WsRecorder.connect(sim.url, 'd');
  });

  afterEach(async () => {
    ws.close();
    await sim.close();
  });

  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };

  it('when /system_stats is delayed, then it answers its usual body that late, each request is recorded, and /queue and the prompt\'s progress keep their pace', async () => {
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: 600 });
    const promptId = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 20, seed: 1 }), client_id: 'd' })).json.prompt_id as string;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === promptId);
    const progressBefore = ws.messages.filter((m) => m.type === 'progress').length;

    const [stats, queue] = await Promise.all([timed(() => getJson(sim.url, '/system_stats')), timed(() => getJson(sim.url, '/queue'))]);

    expect(stats.ms).toBeGreaterThanOrEqual(590);
    expect(stats.value.devices[0].type).toBe('cpu');
    expect(queue.ms).toBeLessThan(300);
    expect(queue.value.queue_running.map((item: unknown[]) => item[1])).toEqual([promptId]);
    // About 12 steps of 50 ms went by while /system_stats was held: their progress came meanwhile.
    expect(ws.messages.filter((m) => m.type === 'progress').length - progressBefore).toBeGreaterThanOrEqual(5);
    expect(sim.misbehaviours).toEqual([{ path: '/system_stats', bytesSent: 0 }]);
  });

  it('when disarmed, then /system_stats answers at once again', async () => {
    sim.misbehave({ kind: 'delayed', path: '/system_stats', delayMs: 5_000 });
    sim.misbehave();
    const stats = await timed(() => getJson(sim.url, '/system_stats'));
    expect(stats.ms).toBeLessThan(1_000);
  });
});
