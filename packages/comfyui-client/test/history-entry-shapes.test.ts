import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyExecutionError, ComfyHttpError } from '../src';
import { useMisbehavingSimulator } from './helpers/misbehaving-simulator';

/**
 * A history entry of another shape than ComfyUI's (a broken server or proxy, the simulator
 * answering JSON of that shape). Status messages that are not `[type, data]` pairs: the run still
 * ends as the entry's status says, never with a TypeError (which the orchestrator takes for an
 * internal fault and tries again). An output named longer than any path, or with a subfolder or
 * type that is not text: the run fails saying so, rather than the name being stored, sent in every
 * event and asked of /view.
 */
describe('ComfyClient reading history entries of the wrong shape (simulator misbehaving)', () => {
  const fx = useMisbehavingSimulator();

  const image = { filename: 'img_00001_.png', subfolder: 'jobs/x', type: 'output' };
  const run = (promptId: string, entry: unknown) => {
    fx.sim.misbehave({ kind: 'json', path: '/history/', body: { [promptId]: entry } });
    return fx.client.run(textToImage({ seed: 1, steps: 1, width: 64, height: 64 }), { promptId, pollIntervalMs: 20 }).catch((error: unknown) => error);
  };

  it('when a success lists its messages as text, a number or items that are not pairs, then the run ends with its outputs', async () => {
    for (const [i, messages] of ['oops', 7, [5, null, 'x', [3, {}]]].entries()) {
      const result = await run(`shape-ok-${i}`, { status: { status_str: 'success', completed: true, messages }, outputs: { '9': { images: [image] } } });
      expect(result).toMatchObject({ promptId: `shape-ok-${i}`, outputs: [{ nodeId: '9', ...image }], cached: false });
    }
  });

  it('when an error lists such messages, then the run fails with a ComfyExecutionError, with ComfyUI\'s message when a well-formed one is among them', async () => {
    const bare = await run('shape-error-0', { status: { status_str: 'error', completed: false, messages: 5 }, outputs: {} });
    expect(bare).toBeInstanceOf(ComfyExecutionError);
    expect((bare as Error).message).toBe('ComfyUI reports prompt shape-error-0 failed without an error message');
    const named = await run('shape-error-1', { status: { status_str: 'error', completed: false, messages: [null, 5, ['execution_error', { node_type: 'KSampler', exception_message: 'CUDA out of memory' }]] }, outputs: {} });
    expect(named).toBeInstanceOf(ComfyExecutionError);
    expect((named as Error).message).toMatch(/CUDA out of memory/);
  });

  it('when an error\'s last message is an interruption or error pair whose data is null, text or a number, then the run fails with a ComfyExecutionError, not a TypeError', async () => {
    for (const [i, data] of [null, 'oops', 7].entries()) {
      for (const type of ['execution_interrupted', 'execution_error']) {
        const promptId = `shape-data-${type}-${i}`;
        const error = await run(promptId, { status: { status_str: 'error', completed: false, messages: [['execution_start', { prompt_id: promptId }], [type, data]] }, outputs: {} });
        expect(error).toBeInstanceOf(ComfyExecutionError);
        expect((error as Error).message).toBe(`ComfyUI reports prompt ${promptId} failed without an error message`);
      }
    }
  });

  it('when an output\'s file name or subfolder is longer than any path (megabytes), then the run fails with a ComfyHttpError naming its node, the name cut', async () => {
    const long = 'a'.repeat(1024 * 1024);
    for (const [i, file] of [{ ...image, filename: `${long}.png` }, { ...image, subfolder: long }].entries()) {
      const error = await run(`shape-long-${i}`, { status: { status_str: 'success', completed: true, messages: [] }, outputs: { '9': { images: [file] } } });
      expect(error).toBeInstanceOf(ComfyHttpError);
      expect((error as Error).message).toMatch(new RegExp(`^ComfyUI's history of prompt shape-long-${i} lists an output of node 9 that names no file it could serve \\("a{0,200}`));
      expect((error as Error).message.length).toBeLessThan(1_000);
    }
    // A node id as long: the run fails alike, the id cut in the message too (the message is logged as it is).
    const longNode = await run('shape-long-node', { status: { status_str: 'success', completed: true, messages: [] }, outputs: { [long]: { images: [image] } } });
    expect(longNode).toBeInstanceOf(ComfyHttpError);
    expect((longNode as Error).message).toMatch(/^ComfyUI's history of prompt shape-long-node lists an output of node a{200}… that names no file it could serve/);
    expect((longNode as Error).message.length).toBeLessThan(1_000);
    // A long real path (a deep subfolder) is still a file.
    const deep = { ...image, subfolder: Array.from({ length: 40 }, (_, i) => `level-${i}`).join('/') };
    expect(await run('shape-long-ok', { status: { status_str: 'success', completed: true, messages: [] }, outputs: { '9': { images: [deep] } } })).toMatchObject({ outputs: [{ nodeId: '9', ...deep }] });
  });

  it('when an output\'s subfolder or type is not text (an object, a number, a list), then the run fails at once with a ComfyHttpError naming its node, not a file named by its JSON that /view would refuse', async () => {
    const odd: Array<[Record<string, unknown>, string]> = [
      [{ ...image, subfolder: { path: 'jobs/x' } }, '{\\"path\\":\\"jobs/x\\"}'],
      [{ ...image, subfolder: 7 }, '7'],
      [{ ...image, type: ['output'] }, 'jobs/x'],
      [{ ...image, type: 0 }, 'jobs/x'],
    ];
    for (const [i, [file, subfolder]] of odd.entries()) {
      // Listed after a well-named file: one output no file could be named by fails the run.
      const error = await run(`shape-field-${i}`, { status: { status_str: 'success', completed: true, messages: [] }, outputs: { '9': { images: [image, file] } } });
      expect(error).toBeInstanceOf(ComfyHttpError);
      expect((error as Error).message).toBe(`ComfyUI's history of prompt shape-field-${i} lists an output of node 9 that names no file it could serve ("img_00001_.png" in "${subfolder}")`);
    }
    // A subfolder or type left out (or null) is ComfyUI's default, as before: '' and output.
    const bare = await run('shape-field-absent', { status: { status_str: 'success', completed: true, messages: [] }, outputs: { '9': { images: [{ filename: 'a.png' }, { filename: 'b.png', subfolder: null, type: null }] } } });
    expect(bare).toMatchObject({ outputs: [{ nodeId: '9', filename: 'a.png', subfolder: '', type: 'output' }, { nodeId: '9', filename: 'b.png', subfolder: '', type: 'output' }] });
  });
});
