import { startSimulator, type ComfyuiVersion, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson } from './helpers/http';
import { summarize, WsRecorder } from './helpers/ws-recorder';

/**
 * When one output node is cached and another must run, the two real servers differ.
 *
 * 0.8.0 (the captured server): the order comes from ComfyUI's ExecutionList, not from which output is
 * "new": execution.execute() replays a cached node (its `executed` with the cached ui) at the moment
 * the list stages it, and comfy_execution/graph.py ux_friendly_pick_node stages any ready output node
 * first. A cached output has nothing uncached upstream, so it is ready at once; the new output waits
 * for its sampler. So the cached node's replay comes first, right after execution_cached (as in
 * 11_probe_again_cached_ws_messages.json: execution_cached → executed(2) → progress_state(2:finished)),
 * and the new node's `executed` follows its own `executing`.
 *
 * 0.3.64 (reported against 0.3.64 in issue 14): the new node's `executed` comes first, then the
 * cached node's replay.
 */
describe.each(['0.8.0', '0.3.64'] as ComfyuiVersion[])('ComfyUI %s: a prompt with one cached output and one new output', (comfyuiVersion) => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1, comfyuiVersion });
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

  if (comfyuiVersion === '0.8.0') {
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
  } else {
    it('when only the sampler branch changes, then the new output runs and is executed first, and the cached output is replayed after', async () => {
      await run(withProbe(1));
      const sequence = await run(withProbe(2));
      expect(sequence.slice(2, 4)).toEqual(['execution_start', "execution_cached(nodes=['1', '2', '4', '5', '6', '7'])"]);
      expect(sequence.filter((s) => s.startsWith('executed') || s.startsWith('executing'))).toEqual([
        "executing(node='3')", "executing(node='8')", "executing(node='9')", "executed(node='9')", "executed(node='2')", 'executing(node=None)',
      ]);
      const replay = sequence.indexOf("executed(node='2')");
      // progress_state lists every node of the prompt so far: the replayed node joins the finished ones.
      expect(sequence[replay + 1]).toBe('progress_state(2:finished,3:finished,8:finished,9:finished)');
    });
  }

  it('when the same prompt is resubmitted, then its one cached output is replayed right after execution_cached', async () => {
    const sequence = await run(withProbe(2));
    expect(sequence.slice(2, 6)).toEqual([
      'execution_start',
      "execution_cached(nodes=['1', '2', '3', '4', '5', '6', '7', '8', '9'])",
      "executed(node='2')",
      'progress_state(2:finished)',
    ]);
  });
});
