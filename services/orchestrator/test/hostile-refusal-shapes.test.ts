import type { Simulator } from '@anime/comfyui-simulator';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * POST /prompt refused (400) with node_errors of another shape than ComfyUI's (the simulator
 * misbehaving): null, text or a list of non-objects where ComfyUI has `{class_type, errors: [...]}`.
 * Reading it threw a TypeError, an internal fault: the prompt was posted again at each of the
 * job's tries, and the generation failed as `internal` with the TypeError's words. So did an object
 * whose own key is `toString` where ComfyUI has text (String() of it throws).
 */
describe('render stage on a ComfyUI refusing with node_errors of the wrong shape (orchestrator in-process, simulator misbehaving)', () => {
  let fx: OrchestratorFixture;
  let simulator: Simulator;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('hostile-refusal-shapes', { simulators: [{ stepMs: 2 }], env: { JOB_MAX_ATTEMPTS: '3' } });
    [simulator] = fx.simulators;
  });

  afterEach(() => simulator.misbehave(undefined));

  afterAll(async () => {
    await fx?.close();
  });

  it('when /prompt answers 400 with node_errors holding null, text and non-object errors, then the generation fails once with comfyui_validation naming each node', async () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
      node_errors: { '4': null, '5': 'oops', '6': { class_type: 'EmptyImage', errors: [null, { type: 'required_input_missing', message: 'Required input is missing', details: 'color', extra_info: {} }] } },
    };
    simulator.misbehave({ kind: 'post_answer', status: 400, body });
    const id = await fx.resolvedGeneration({ seed: 31 });
    const row = await waitFor(async () => {
      const g = await fx.db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
      return g.status === 'failed' || g.status === 'completed' ? g : null;
    }, 'the generation to end', 30_000);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_validation', errorMessage: 'node 4 (unknown); node 5 (unknown); node 6 (EmptyImage): Required input is missing: color' });
    expect(row.attempts).toHaveLength(1);
  });

  it('when /prompt answers 400 with a class_type and a message that are objects with their own toString, then the generation fails once with comfyui_validation showing them as JSON', async () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
      node_errors: { '4': { class_type: { toString: 1 }, errors: [{ type: 'value_not_in_list', message: { toString: 1 }, details: { valueOf: 1 }, extra_info: {} }] } },
    };
    simulator.misbehave({ kind: 'post_answer', status: 400, body });
    const id = await fx.resolvedGeneration({ seed: 32 });
    const row = await waitFor(async () => {
      const g = await fx.db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
      return g.status === 'failed' || g.status === 'completed' ? g : null;
    }, 'the generation to end', 30_000);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_validation', errorMessage: 'node 4 ({"toString":1}): {"toString":1}: {"valueOf":1}' });
    expect(row.attempts).toHaveLength(1);
  });
});
