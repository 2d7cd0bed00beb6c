import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyExecutionError, ComfyHttpError, ComfyInterruptedError, ComfyValidationError } from '../src';
import { useMisbehavingSimulator } from './helpers/misbehaving-simulator';
import { startStandInServer, type StandInServer } from './helpers/stand-in-server';

/**
 * JSON no ComfyUI sends where ComfyUI sends text: an object whose own key is `toString` or
 * `valueOf` (String() and `${}` then throw a TypeError), arrays nested deeper than the call stack
 * (a RangeError), megabytes. Each ends in the ComfyUI error it stands for, its message bounded,
 * never a TypeError or RangeError, which the orchestrator takes for an internal fault of ours and
 * tries again instead of saying the backend answered nonsense.
 */
const HOSTILE = { toString: 1 };
const HOSTILE_TOO = { valueOf: 1, toString: 'x' };
/** Arrays nested past the call stack, as JSON text (JSON.parse reads them; String and JSON.stringify overflow). */
const DEEP = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
const HUGE = 'A'.repeat(1024 * 1024);

const graph = textToImage({ seed: 1, steps: 1, width: 64, height: 64 });

describe('ComfyClient given objects where ComfyUI sends text (simulator misbehaving)', () => {
  const fx = useMisbehavingSimulator();

  const failedRun = (promptId: string, entry: unknown) => {
    fx.sim.misbehave({ kind: 'json', path: '/history/', body: { [promptId]: entry } });
    return fx.client.run(graph, { promptId, pollIntervalMs: 20 }).catch((error: unknown) => error);
  };
  const erred = (promptId: string, type: string, data: unknown) => failedRun(promptId, { status: { status_str: 'error', completed: false, messages: [['execution_start', { prompt_id: promptId }], [type, data]] }, outputs: {} });

  it('when /prompt refuses (400) with a class_type, message, details or error message that is an object with its own toString or valueOf, then it is a ComfyValidationError showing them as JSON', async () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
      node_errors: {
        '4': { class_type: HOSTILE, errors: [{ message: HOSTILE_TOO, details: HOSTILE }] },
        '5': { class_type: 'EmptyImage', errors: [{ message: 'Required input is missing', details: HOSTILE_TOO }] },
      },
    };
    fx.sim.misbehave({ kind: 'post_answer', status: 400, body });
    const refused = await fx.client.submit(graph).catch((e) => e);
    expect(refused).toBeInstanceOf(ComfyValidationError);
    expect(refused.summary).toBe('node 4 ({"toString":1}): {"valueOf":1,"toString":"x"}: {"toString":1}; node 5 (EmptyImage): Required input is missing: {"valueOf":1,"toString":"x"}');

    fx.sim.misbehave({ kind: 'post_answer', status: 400, body: { error: { type: 'invalid_prompt', message: HOSTILE, details: HOSTILE_TOO }, node_errors: {} } });
    const bare = await fx.client.submit(graph).catch((e) => e);
    expect(bare).toBeInstanceOf(ComfyValidationError);
    expect(bare.message).toBe('ComfyUI rejected the prompt (invalid_prompt): {"toString":1}: {"valueOf":1,"toString":"x"}');

    // Megabytes of class name and message: the summary is bounded (it becomes the job's message, and is logged).
    fx.sim.misbehave({ kind: 'post_answer', status: 400, body: { error: { type: HUGE }, node_errors: { [HUGE]: { class_type: HUGE, errors: [{ message: HUGE }] } } } });
    const long = await fx.client.submit(graph).catch((e) => e);
    expect(long).toBeInstanceOf(ComfyValidationError);
    expect(long.summary).toMatch(/^node A{200}… \(A{200}…\): A+…$/);
    expect(long.message.length).toBeLessThan(17_000);
  });

  it('when /prompt queues the prompt (200) but lists node_errors of such objects, or a number that is one, then it is a ComfyValidationError, or the prompt is queued with no number', async () => {
    fx.sim.misbehave({ kind: 'post_answer', status: 200, body: { prompt_id: 'text-shapes-200', number: 3, node_errors: { '4': { class_type: HOSTILE, errors: [{ message: HOSTILE }] } } } });
    const refused = await fx.client.submit(graph).catch((e) => e);
    expect(refused).toBeInstanceOf(ComfyValidationError);
    expect(refused.message).toBe('ComfyUI rejected the prompt (node_errors): node 4 ({"toString":1}): {"toString":1}');

    fx.sim.misbehave({ kind: 'post_answer', status: 200, body: { prompt_id: 'text-shapes-number', number: HOSTILE, node_errors: {} } });
    expect(await fx.client.submit(graph)).toEqual({ promptId: 'text-shapes-number', number: Number.NaN });
  });

  it('when an execution_error in history holds such objects (message, node, class, exception type), then the run fails with a ComfyExecutionError showing them', async () => {
    const hostile = await erred('text-shapes-error-0', 'execution_error', { exception_message: HOSTILE, node_id: HOSTILE_TOO, node_type: HOSTILE, exception_type: HOSTILE });
    expect(hostile).toBeInstanceOf(ComfyExecutionError);
    expect(hostile).toMatchObject({ message: '{"toString":1}', nodeId: '{"valueOf":1,"toString":"x"}', nodeType: '{"toString":1}', exceptionType: '{"toString":1}' });

    const empty = await erred('text-shapes-error-1', 'execution_error', { exception_message: '', node_id: HOSTILE_TOO, node_type: HOSTILE, exception_type: HOSTILE_TOO });
    expect(empty).toBeInstanceOf(ComfyExecutionError);
    expect((empty as Error).message).toBe('ComfyUI reported {"valueOf":1,"toString":"x"} in node {"valueOf":1,"toString":"x"} ({"toString":1}) with no message');

    const huge = await erred('text-shapes-error-3', 'execution_error', { exception_message: { text: HUGE }, node_id: HUGE, node_type: HUGE });
    expect(huge).toBeInstanceOf(ComfyExecutionError);
    expect((huge as Error).message).toMatch(/^\{"text":"A+…$/);
    expect((huge as Error).message.length).toBe(16_001);
    expect((huge as ComfyExecutionError).nodeType).toBe(`${'A'.repeat(200)}…`);
  });

  it('when an execution_interrupted in history names its node and class with such objects, then the run fails with a ComfyInterruptedError showing them', async () => {
    const interrupted = await erred('text-shapes-interrupted', 'execution_interrupted', { node_id: HOSTILE_TOO, node_type: HOSTILE });
    expect(interrupted).toBeInstanceOf(ComfyInterruptedError);
    expect(interrupted).toMatchObject({ message: 'ComfyUI interrupted prompt text-shapes-interrupted at node {"valueOf":1,"toString":"x"} ({"toString":1})', nodeId: '{"valueOf":1,"toString":"x"}', nodeType: '{"toString":1}' });
  });

  it('when an output\'s subfolder or type is such an object, then the run fails with a ComfyHttpError showing it, not a TypeError', async () => {
    const file = { filename: 'img_00001_.png', subfolder: HOSTILE, type: HOSTILE_TOO };
    const result = await failedRun('text-shapes-output', { status: { status_str: 'success', completed: true, messages: [] }, outputs: { '9': { images: [file] } } });
    expect(result).toBeInstanceOf(ComfyHttpError);
    expect((result as Error).message).toBe('ComfyUI\'s history of prompt text-shapes-output lists an output of node 9 that names no file it could serve ("img_00001_.png" in "{\\"toString\\":1}")');
  });
});

/**
 * The same objects in the socket's execution_error and execution_interrupted frames, for a prompt
 * history never lists, and arrays nested past the call stack in a frame and a /prompt refusal (a
 * node:http and ws stand-in: the simulator sends ComfyUI's own frames only, and writes its JSON
 * with JSON.stringify, which cannot write those arrays).
 */
describe('ComfyClient given socket frames holding objects where ComfyUI sends text (node:http and ws stand-in)', () => {
  let standIn: StandInServer;
  let sockets: StandInServer['sockets'];
  let base: string;
  /** The frame that ends the prompt, as text. */
  let frame: (promptId: string) => string;
  /** When set, POST /prompt answers 400 with this text. */
  let refusal: string | undefined;

  beforeAll(async () => {
    standIn = await startStandInServer((req, res) => {
      const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'POST' && req.url === '/prompt') {
        let text = '';
        req.on('data', (chunk) => (text += chunk));
        req.on('end', () => {
          if (refusal !== undefined) return void res.writeHead(400, { 'content-type': 'application/json' }).end(refusal);
          const promptId = JSON.parse(text).prompt_id as string;
          send({ prompt_id: promptId, number: 1, node_errors: {} });
          // The end of the prompt, as frames only (history never lists it).
          for (const socket of sockets.clients) {
            socket.send(JSON.stringify({ type: 'execution_start', data: { prompt_id: promptId } }));
            socket.send(frame(promptId));
          }
        });
        return;
      }
      if (req.url?.startsWith('/queue')) return send({ queue_running: [], queue_pending: [] });
      send({});
    });
    ({ sockets, base } = standIn);
  });

  afterAll(() => standIn?.close());

  // A long poll interval: the run is ended by its frames, the first look waiting for them.
  const run = (client: ComfyClient) => client.run(graph, { pollIntervalMs: 5_000 }).catch((e) => e);

  it('when execution_error and execution_interrupted frames carry such objects, or a message of arrays nested past the call stack, then the run fails with ComfyExecutionError and ComfyInterruptedError showing them', async () => {
    const client = new ComfyClient({ baseUrl: base });
    try {
      await client.connect();
      frame = (promptId) => JSON.stringify({ type: 'execution_error', data: { prompt_id: promptId, exception_message: HOSTILE, node_id: '3', node_type: HOSTILE_TOO, exception_type: HOSTILE } });
      const failed = await run(client);
      expect(failed).toBeInstanceOf(ComfyExecutionError);
      expect(failed).toMatchObject({ message: '{"toString":1}', nodeType: '{"valueOf":1,"toString":"x"}' });

      frame = (promptId) => JSON.stringify({ type: 'execution_interrupted', data: { prompt_id: promptId, node_id: HOSTILE, node_type: HOSTILE_TOO } });
      const interrupted = await run(client);
      expect(interrupted).toBeInstanceOf(ComfyInterruptedError);
      expect(interrupted.message).toBe(`ComfyUI interrupted prompt ${interrupted.promptId} at node {"toString":1} ({"valueOf":1,"toString":"x"})`);

      frame = (promptId) => `{"type": "execution_error", "data": {"prompt_id": ${JSON.stringify(promptId)}, "node_type": "KSampler", "exception_message": ${DEEP}}}`;
      const deep = await run(client);
      expect(deep).toBeInstanceOf(ComfyExecutionError);
      expect(deep.message).toBe('(a value that cannot be shown)');
    } finally {
      client.close();
    }
  });

  it('when /prompt refuses with a class_type and a message of arrays nested past the call stack, then it is a ComfyValidationError saying they cannot be shown', async () => {
    const client = new ComfyClient({ baseUrl: base });
    refusal = `{"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": ""}, "node_errors": {"4": {"class_type": ${DEEP}, "errors": [{"message": ${DEEP}, "details": "ckpt_name"}]}}}`;
    try {
      const refused = await client.submit(graph).catch((e) => e);
      expect(refused).toBeInstanceOf(ComfyValidationError);
      expect(refused.summary).toBe('node 4 ((a value that cannot be shown)): (a value that cannot be shown): ckpt_name');
    } finally {
      refusal = undefined;
      client.close();
    }
  });
});
