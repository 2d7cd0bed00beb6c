import { randomUUID } from 'node:crypto';
import { ComfyClient, ComfyExecutionError, ComfyValidationError, type ComfyMessage } from '../src';
import { capture, captureBytes, CaptureServer, previewFrame, progressTextFrame, type Frame } from './helpers/capture-server';

/**
 * The client against the bytes a real ComfyUI (0.8.0) sent, replayed as they were captured
 * (comfyui-captures): no simulator in between, so nothing the client relies on can be a shape only
 * the simulator gives.
 */
describe('ComfyClient against replayed real ComfyUI traffic', () => {
  let server: CaptureServer;
  let client: ComfyClient;
  const probe = () => capture('10_probe_post_prompt_response.json').request_json.prompt;

  beforeAll(async () => {
    server = await CaptureServer.start();
    client = new ComfyClient({ baseUrl: server.url });
    await client.connect();
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('when the probe prompt runs (capture 10), then its one file comes back as history lists it, and /view is asked exactly as the capture did', async () => {
    server.replay({ name: '10_probe' });
    const started: string[] = [];
    const promptId = randomUUID();
    const result = await client.run(probe(), { promptId, onStarted: ({ promptId: id }) => void started.push(id), pollIntervalMs: 5_000 });
    expect(result).toMatchObject({ promptId, cached: false, outputs: [{ nodeId: '2', filename: 'probe_00001_.png', subfolder: '', type: 'output' }] });
    expect(result.history.status?.status_str).toBe('success');
    expect(started).toEqual([promptId]);
    expect(JSON.parse(server.requests.find((r) => r.url === '/prompt')!.body)).toEqual({ prompt: probe(), client_id: client.clientId, prompt_id: promptId });

    const bytes = await client.view(result.outputs[0]);
    expect(bytes.equals(captureBytes('10_probe_view.png'))).toBe(true);
  });

  it('when the same prompt is answered from the cache (capture 11: no executing, no progress), then it is done and reported cached', async () => {
    server.replay({ name: '11_probe_again_cached' });
    const result = await client.run(probe(), { pollIntervalMs: 5_000 });
    expect(result.cached).toBe(true);
    expect(result.outputs).toEqual([{ nodeId: '2', filename: 'probe_00001_.png', subfolder: '', type: 'output' }]);
  });

  it('when a node raises (capture 12), then ComfyExecutionError carries the node, its class and the exception text', async () => {
    server.replay({ name: '12_runtime_error' });
    const error = await client.run(probe(), { pollIntervalMs: 5_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyExecutionError);
    expect(error).toMatchObject({ nodeId: '2', nodeType: 'SaveImage', exceptionType: 'Exception' });
    expect(error.message).toMatch(/^\*\*\*\* ERROR: Saving image outside the output folder is not allowed\.\n full_output_folder: \/tmp\/comfy-real\/ComfyUI\n.*commonpath: \/tmp\/comfy-real\/ComfyUI$/s);
  });

  it.each([
    ['20_unknown_class_type', 'invalid_prompt', "Cannot execute because node NoSuchNode does not exist.: Node ID '#1'"],
    ['21_missing_required_input', 'prompt_outputs_failed_validation', 'node 1 (EmptyImage): Required input is missing: color'],
    ['22_value_out_of_range', 'prompt_outputs_failed_validation', 'node 1 (EmptyImage): Value 0 smaller than min of 1: width'],
    ['23_wrong_type_value', 'prompt_outputs_failed_validation', "node 1 (EmptyImage): Failed to convert an input value to a INT value: width, abc, invalid literal for int() with base 10: 'abc'"],
    ['24_link_to_missing_node', 'prompt_outputs_failed_validation', "node 2 (SaveImage): Exception when validating node: '9'"],
    ['25_no_output_node', 'prompt_no_outputs', 'Prompt has no outputs'],
    ['26_missing_class_type', 'invalid_prompt', "Cannot execute because a node is missing the class_type property.: Node ID '#1'"],
    ['27_link_type_mismatch', 'prompt_outputs_failed_validation', 'node 2 (SaveImage): Return type mismatch between linked nodes: images, received_type(LATENT) mismatch input_type(IMAGE)'],
    ['28_no_prompt_key', 'no_prompt', 'No prompt provided'],
  ])('when ComfyUI refuses the prompt (%s), then ComfyValidationError says %s: %s', async (name, type, summary) => {
    server.replay({ name });
    const error = await client.run(probe()).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyValidationError);
    expect(error.type).toBe(type);
    expect(error.summary).toBe(summary);
    expect(error.body).toEqual(capture(`${name}_post_prompt_response.json`).json);
  });

  it('when previews, progress text, custom-node broadcasts and other prompts\' events come between the captured frames, then only this prompt\'s steps and outcome count', async () => {
    const other = randomUUID();
    const noise = (promptId: string, index: number): Frame[] => [
      previewFrame(),
      progressTextFrame('2', 'saving…'),
      { text: '{"type": "crystools.monitor", "data": {"cpu_utilization": 12.5, "ram_used_percent": 40.1, "gpus": []}}' },
      { text: `{"type": "progress_state", "data": {"prompt_id": "${promptId}", "nodes": {}}}` },
      // A prompt of a client that sent no client_id: its interrupt and progress are broadcast to every socket.
      { text: `{"type": "progress", "data": {"value": ${index + 1}, "max": 99, "prompt_id": "${other}", "node": "3"}}` },
      { text: `{"type": "execution_interrupted", "data": {"prompt_id": "${other}", "node_id": "3", "node_type": "KSampler", "executed": [], "timestamp": 1795482496051}}` },
      // What the server sends a socket reconnecting while its prompt runs: the node, no prompt id.
      { text: '{"type": "executing", "data": {"node": "2"}}' },
      { text: 'not json at all' },
    ];
    const step = (promptId: string, value: number): Frame => ({ text: `{"type": "progress", "data": {"value": ${value}, "max": 2, "prompt_id": "${promptId}", "node": "2"}}` });
    server.replay({ name: '10_probe', before: (id) => [...noise(id, 0), step(id, 1), step(id, 2)], between: noise });
    const ticks: Array<[string, number, number]> = [];
    const messages: ComfyMessage[] = [];
    const off = client.onMessage((message) => messages.push(message));
    const result = await client.run(probe(), { onProgress: (p) => void ticks.push([p.node, p.value, p.max]), pollIntervalMs: 5_000 }).finally(off);
    expect(result.outputs).toHaveLength(1);
    expect(ticks).toEqual([['2', 1, 2], ['2', 2, 2]]);
    expect(messages.map((m) => m.type)).not.toContain('crystools.monitor');
  });

  it('when no frame of the prompt reaches the socket (it was down, or came back after the prompt ended), then /history alone completes the run', async () => {
    server.replay({ name: '10_probe', silent: true });
    const result = await client.run(probe(), { pollIntervalMs: 50 });
    expect(result.outputs).toEqual([{ nodeId: '2', filename: 'probe_00001_.png', subfolder: '', type: 'output' }]);
  });

  it('when the server ignores the prompt_id sent (older than 2025-07) and answers with its own, then the run follows that id', async () => {
    server.replay({ name: '11_probe_again_cached', ignorePromptId: true, frameGapMs: 20 });
    const result = await client.run(probe(), { promptId: randomUUID(), pollIntervalMs: 100 });
    expect(result.promptId).toBe(capture('11_probe_again_cached_post_prompt_response.json').json.prompt_id);
    expect(result.cached).toBe(true);
  });
});
