import { emptyImageProbe, startSimulator, type Simulator } from '../src';
import { postJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * POST /free: `json_data.get("unload_models")`, `json_data.get("free_memory")`, each set as a queue flag
 * when truthy, then a bare 200. main.prompt_worker reads the flags between prompts; free_memory
 * (which also unloads the models) calls PromptExecutor.reset(), so the node cache is gone and an
 * identical prompt runs again instead of being served from the cache.
 */
describe('POST /free', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    ws = await WsRecorder.connect(sim.url, 'f');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  /** Runs the probe and answers the nodes its execution_cached listed. */
  async function cachedNodes(): Promise<string[]> {
    const from = ws.messages.length;
    const { json } = await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('free'), client_id: 'f' });
    const messages = await ws.untilDone(json.prompt_id, from);
    return messages.find((m) => m.type === 'execution_cached')!.data.nodes;
  }

  it('when free_memory is set, then it answers an empty 200 and the next identical prompt runs uncached', async () => {
    expect(await cachedNodes()).toEqual([]);
    expect(await cachedNodes()).toEqual(['1', '2']);
    const response = await postJson(sim.url, '/free', { unload_models: true, free_memory: true });
    expect(response).toMatchObject({ status: 200, text: '' });
    expect(await cachedNodes()).toEqual([]);
  });

  it('when only unload_models is set, or free_memory is falsy, then the cache stays', async () => {
    await cachedNodes();
    expect((await postJson(sim.url, '/api/free', { unload_models: true, free_memory: 0 })).status).toBe(200);
    expect(await cachedNodes()).toEqual(['1', '2']);
  });

  it('when the body is not JSON or not an object, then it is a 500', async () => {
    expect((await postJson(sim.url, '/free', 'not json')).status).toBe(500);
    expect((await postJson(sim.url, '/free', [])).status).toBe(500);
    expect((await postJson(sim.url, '/free', 'null')).status).toBe(500);
  });
});
