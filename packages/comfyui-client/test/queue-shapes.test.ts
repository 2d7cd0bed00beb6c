import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyHttpError } from '../src';
import { useMisbehavingSimulator } from './helpers/misbehaving-simulator';

/**
 * GET /queue answering lists of another shape than ComfyUI's `[number, prompt_id, prompt,
 * extra_data, outputs_to_execute]` items (a broken server or proxy, the simulator answering JSON of
 * that shape): a ComfyHttpError naming the list, never a TypeError (which the orchestrator takes
 * for an internal fault of ours and tries again), nor a short queue that would call a prompt lost.
 */
describe('ComfyClient reading /queue answers of the wrong shape (simulator misbehaving)', () => {
  const fx = useMisbehavingSimulator();

  const item = (promptId: string) => [1, promptId, {}, { client_id: 'c-1' }, ['9']];

  it('when queue_running or queue_pending is null, an object, text, or lists items that are not lists or name no prompt, then queue() is a ComfyHttpError naming the list', async () => {
    const odd: Array<[string, unknown]> = [
      ['queue_running', null],
      ['queue_running', { '0': item('p-1') }],
      ['queue_pending', 'none'],
      ['queue_running', [null]],
      ['queue_pending', [item('p-1'), 7]],
      ['queue_pending', [{ prompt_id: 'p-1' }]],
      ['queue_running', [[1]]],
      ['queue_running', [[1, { id: 'p-1' }, {}, {}, []]]],
    ];
    for (const [key, list] of odd) {
      fx.sim.misbehave({ kind: 'json', path: '/queue', body: { queue_running: [], queue_pending: [], [key]: list } });
      const error = await fx.client.queue().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ComfyHttpError);
      expect((error as Error).message).toBe(`ComfyUI at ${fx.sim.url} answered GET /queue with a ${key} that is not a list of queued prompts`);
    }
  });

  it('when items carry odd extra_data or outputs, or a list is left out, then /queue is read as far as it goes', async () => {
    fx.sim.misbehave({ kind: 'json', path: '/queue', body: { queue_running: [[4, 'p-run', {}, 'oops', 5]] } });
    expect(await fx.client.queue()).toEqual({ running: [{ number: 4, promptId: 'p-run', prompt: {}, extraData: {}, outputsToExecute: [] }], pending: [] });
    fx.sim.misbehave({ kind: 'json', path: '/queue', body: { queue_pending: [item('p-wait')] } });
    expect(await fx.client.queue()).toEqual({ running: [], pending: [{ number: 1, promptId: 'p-wait', prompt: {}, extraData: { client_id: 'c-1' }, outputsToExecute: ['9'] }] });
  });

  it('when /queue lists such items while a prompt is followed, then the run fails with that ComfyHttpError, not a TypeError', async () => {
    fx.sim.misbehave({ kind: 'json', path: '/queue', body: { queue_running: [null], queue_pending: [] } });
    // 300 steps of 1 ms: history has no entry when /queue is first asked (at once).
    const error = await fx.client.run(textToImage({ seed: 1, steps: 300, width: 64, height: 64 }), { pollIntervalMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyHttpError);
    expect((error as Error).message).toBe(`ComfyUI at ${fx.sim.url} answered GET /queue with a queue_running that is not a list of queued prompts`);
  });
});
