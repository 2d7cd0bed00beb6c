import { startSimulator, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * Real ComfyUI only looks at the interrupt flag between sampler steps: main.hijack_progress's hook runs
 * after each step and calls throw_exception_if_processing_interrupted() before it sends that step's
 * `progress`. So an interrupt lands when the step in progress ends (reported on CPU: 4.7 s after
 * POST /interrupt for one step), and the interrupted step sends no `progress`.
 */
describe('interrupt during a sampler step', () => {
  // Long enough (1 s) that the interrupt, sent a quarter step after step 1 was heard, still lands mid-step 2
  // and well before its end when that was heard late on a loaded machine.
  const STEP_MS = 1_000;
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: STEP_MS });
    ws = await WsRecorder.connect(sim.url, 'i');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  it('when /interrupt comes mid-step, then execution_interrupted waits for the step to end and that step sends no progress', async () => {
    const { prompt_id: promptId } = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 10 }), client_id: 'i' })).json;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === promptId && m.data.value === 1);
    const stepOneEnded = Date.now();
    await new Promise((r) => setTimeout(r, STEP_MS / 4));

    const interruptedAt = Date.now();
    expect((await postJson(sim.url, '/interrupt', { prompt_id: promptId })).status).toBe(200);
    const interrupted = await ws.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === promptId);
    const landedAt = Date.now();

    // Step 2 began when step 1 ended; the interrupt lands at its end, not when it was asked for.
    expect(landedAt - stepOneEnded).toBeGreaterThanOrEqual(STEP_MS - 50);
    expect(landedAt - interruptedAt).toBeGreaterThanOrEqual(STEP_MS / 2 - 50);
    expect(interrupted.data).toMatchObject({ node_id: '3', node_type: 'KSampler' });
    const progress = ws.messages.filter((m) => m.type === 'progress' && m.data.prompt_id === promptId).map((m) => m.data.value);
    expect(progress).toEqual([1]);
    await ws.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId);
  });
});
