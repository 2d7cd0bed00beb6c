import { startSimulator, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson } from './helpers/http';
import { summarize, WsRecorder } from './helpers/ws-recorder';

/**
 * When one output node is cached and another must run, the real order comes from ComfyUI's
 * ExecutionList, not from which output is "new": execution.execute() replays a cached node (its
 * `executed` with the cached ui) at the moment the list stages it, and
 * comfy_execution/graph.py ux_friendly_pick_node stages any ready output node first. A cached output
 * has nothing uncached upstream, so it is ready at once; the new output waits for its sampler. So the
 * cached node's replay comes first, right after execution_cached (as in
 * 11_probe_again_cached_ws_messages.json: execution_cached → executed(2) → progress_state(2:finished)),
 * and the new node's `executed` follows its own `executing`.
 */
describe('a prompt with one cached output and one new output', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    ws = await WsRecorder.connect(sim.url, 'mix');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  const withProbe = (seed: number) => ({
    ...textToImage({ seed, steps: 2 }),
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'probe' } },
  });

  async function run(prompt: unknown) {
    const from = ws.messages.length;
    const { json } = await postJson(sim.url, '/prompt', { prompt, client_id: 'mix' });
    return (await ws.untilDone(json.prompt_id, from)).map(summarize);
  }

  it('when only the sampler branch changes, then the cached output is replayed first and the new output runs after', async () => {
    await run(withProbe(1));
    const sequence = await run(withProbe(2));
    expect(sequence.slice(2, 6)).toEqual([
      'execution_start',
      "execution_cached(nodes=['1', '2', '4', '5', '6', '7'])",
      "executed(node='2')",
      'progress_state(2:finished)',
    ]);
    expect(sequence.filter((s) => s.startsWith('executed') || s.startsWith('executing'))).toEqual([
      "executed(node='2')", "executing(node='3')", "executing(node='8')", "executing(node='9')", "executed(node='9')", 'executing(node=None)',
    ]);
  });
});
