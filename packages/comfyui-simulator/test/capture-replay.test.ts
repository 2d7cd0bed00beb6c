import { createHash } from 'node:crypto';
import { startSimulator, type Simulator } from '../src';
import { capture, captureBytes, shapeOf } from './helpers/captures';
import { getJson, postJson, waitForHistory } from './helpers/http';
import { summarize, WsRecorder, type WsMessage } from './helpers/ws-recorder';

/**
 * Replays, in the captured order, the requests made against a real ComfyUI and compares what comes
 * back: WebSocket sequences, message shapes, error bodies, history entries and prompt numbers.
 * The captures were recorded from ComfyUI 0.8.0 (01_get_system_stats.json), so the simulator answers as 0.8.0 here.
 */
describe('replaying the real ComfyUI captures', () => {
  const summary = capture('SUMMARY_ws_sequences.json');
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1, comfyuiVersion: '0.8.0' });
    ws = await WsRecorder.connect(sim.url, 'x');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  function expectSameShapes(ours: WsMessage[], captured: Array<{ data: WsMessage }>) {
    expect(ours.map((m) => m.type)).toEqual(captured.map((c) => c.data.type));
    ours.forEach((message, i) => expect(shapeOf(message)).toEqual(shapeOf(captured[i].data)));
  }

  async function runCase(name: string): Promise<{ response: any; messages: WsMessage[]; raw: string[] }> {
    const request = capture(`${name}_post_prompt_response.json`).request_json;
    const from = ws.messages.length;
    const response = await postJson(sim.url, '/prompt', request);
    expect(response.status).toBe(200);
    const messages = await ws.untilDone(response.json.prompt_id, from);
    expect(messages.map(summarize)).toEqual(summary[name].ws);
    return { response: response.json, messages, raw: ws.raw.slice(from, from + messages.length) };
  }

  /** The frames' text with the prompt id and the clock taken out: what json.dumps wrote, to the byte. */
  function expectSameText(raw: string[], captured: Array<{ raw: string }>, ourId: string, theirId: string) {
    const plain = (text: string, id: string) => text.split(id).join('<prompt_id>').replace(/"timestamp": \d+/g, '"timestamp": <ms>');
    expect(raw.map((text) => plain(text, ourId))).toEqual(captured.map((c) => plain(c.raw, theirId)));
  }

  it('when connecting with a clientId, then the first message is status with that sid', () => {
    expect(ws.messages[0]).toEqual(capture('00_ws_on_connect.json')[0].data);
  });

  it('when the probe prompt runs, then events, history and the PNG match the capture', async () => {
    const { response, messages, raw } = await runCase('10_probe');
    expect(shapeOf(response)).toEqual(shapeOf(capture('10_probe_post_prompt_response.json').json));
    expect(response.number).toBe(0);
    expectSameShapes(messages, capture('10_probe_ws_messages.json'));
    // progress_state included: a node that starts gets 0.0/1.0 (floats), a cached one 1/1 (ints).
    expectSameText(raw, capture('10_probe_ws_messages.json'), response.prompt_id, '08f5aa8b-e933-431f-991f-1b7dda305222');

    const captured = capture('10_probe_history.json').json['08f5aa8b-e933-431f-991f-1b7dda305222'];
    const entry = await waitForHistory(sim.url, response.prompt_id);
    expect(shapeOf(entry)).toEqual(shapeOf(captured));
    expect(entry.outputs).toEqual(captured.outputs);
    expect(entry.prompt[2]).toEqual(captured.prompt[2]);
    expect(entry.prompt[4]).toEqual(['2']);

    const view = await fetch(`${sim.url}/view?filename=probe_00001_.png&subfolder=&type=output`);
    expect(view.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await view.arrayBuffer());
    // Same pixels, same prompt chunk, same zlib level: the file is byte-for-byte the real one.
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(captureBytes('10_probe_view.png')).digest('hex'));
  });

  it('when the same prompt is resubmitted, then everything is cached and the old file is reported', async () => {
    const { response, messages, raw } = await runCase('11_probe_again_cached');
    expect(response.number).toBe(1);
    expectSameShapes(messages, capture('11_probe_again_cached_ws_messages.json'));
    expectSameText(raw, capture('11_probe_again_cached_ws_messages.json'), response.prompt_id, '9d133993-d02a-4cc0-b6f8-aca0369af1f0');
    const entry = await waitForHistory(sim.url, response.prompt_id);
    const captured = capture('11_probe_again_cached_history.json').json['9d133993-d02a-4cc0-b6f8-aca0369af1f0'];
    expect(entry.outputs).toEqual(captured.outputs);
    expect(entry.status.messages.map((m: any[]) => m[0])).toEqual(captured.status.messages.map((m: any[]) => m[0]));
    expect(entry.status.messages[1][1].nodes).toEqual(['1', '2']);
  });

  it('when SaveImage aims outside the output folder, then the run fails like capture 12', async () => {
    const { response, messages } = await runCase('12_runtime_error');
    expect(response.number).toBe(2);
    expectSameShapes(messages, capture('12_runtime_error_ws_messages.json'));
    const error = messages.find((m) => m.type === 'execution_error')!.data;
    expect(error).toMatchObject({ node_id: '2', node_type: 'SaveImage', executed: ['1'], exception_type: 'Exception', current_outputs: ['1', '2'] });
    expect(error.exception_message).toMatch(/^\*\*\*\* ERROR: Saving image outside the output folder is not allowed\.\n full_output_folder: .*\n         output_dir: .*\n         commonpath: .*\n$/);
    expect(error.current_inputs.filename_prefix).toEqual(['../escape']);
    expect(error.current_inputs.extra_pnginfo).toEqual([null]);

    const entry = await waitForHistory(sim.url, response.prompt_id);
    const captured = capture('12_runtime_error_history.json').json['59c72601-72f7-42d2-b6e7-f4be05c48f13'];
    expect(shapeOf(entry)).toEqual(shapeOf(captured));
    expect(entry.status).toMatchObject({ status_str: 'error', completed: false });
    expect(entry.outputs).toEqual({});
    expect(entry.meta).toEqual({});
  });

  const rejected = ['20_unknown_class_type', '21_missing_required_input', '22_value_out_of_range', '23_wrong_type_value', '24_link_to_missing_node', '25_no_output_node', '26_missing_class_type', '27_link_type_mismatch', '28_no_prompt_key'];

  it.each(rejected)('when posting the %s case, then the 400 body equals the capture (tracebacks aside)', async (name) => {
    const captured = capture(`${name}_post_prompt_response.json`);
    const from = ws.messages.length;
    const response = await postJson(sim.url, '/prompt', captured.request_json);
    expect(response.status).toBe(400);
    const withoutTracebacks = (body: any) => JSON.parse(JSON.stringify(body, (key, value) => (key === 'traceback' ? value.length : value)));
    expect(withoutTracebacks(response.json)).toEqual(withoutTracebacks(captured.json));
    await new Promise((r) => setTimeout(r, 20));
    expect(ws.messages.slice(from)).toEqual([]);
  });

  it('when the body is not JSON, then the answer is aiohttp’s bare 500', async () => {
    const captured = capture('29_non_json_body_post_prompt_response.json');
    const response = await postJson(sim.url, '/prompt', captured.request_data);
    expect(response.status).toBe(500);
    expect(response.text).toBe(captured.text);
  });

  it('when extra_data is sent after the failures, then the number counts rejected prompts too and pnginfo is kept', async () => {
    const { response, messages, raw } = await runCase('30_with_extra_data');
    expect(response.number).toBe(capture('30_with_extra_data_post_prompt_response.json').json.number);
    expectSameShapes(messages, capture('30_with_extra_data_ws_messages.json'));
    expectSameText(raw, capture('30_with_extra_data_ws_messages.json'), response.prompt_id, '135bacc0-9dd3-470d-aa7a-e6b1b35dea43');
    const entry = await waitForHistory(sim.url, response.prompt_id);
    const captured = capture('30_with_extra_data_history.json').json['135bacc0-9dd3-470d-aa7a-e6b1b35dea43'];
    expect(entry.outputs).toEqual(captured.outputs);
    expect(Object.keys(entry.prompt[3])).toEqual(Object.keys(captured.prompt[3]));
    expect(entry.prompt[3].extra_pnginfo).toEqual({ workflow: { probe: true } });
    // The real server stamps extra_data.create_time (ms, at POST time, before execution_start): every
    // history entry in 10/11/12/30_*_history.json and 40_get_history_all.json carries it.
    expect(captured.prompt[3].create_time).toBeLessThanOrEqual(captured.status.messages[0][1].timestamp);
    expect(Number.isInteger(entry.prompt[3].create_time)).toBe(true);
    expect(entry.prompt[3].create_time).toBeLessThanOrEqual(entry.status.messages[0][1].timestamp);
  });

  it('when everything has run, then queue, prompt and history look like the final captures', async () => {
    expect(await getJson(sim.url, '/queue')).toEqual(capture('40_get_queue_after.json').json);
    expect(await getJson(sim.url, '/prompt')).toEqual(capture('40_get_prompt_get_after.json').json);
    const history = await getJson(sim.url, '/history');
    const captured = capture('40_get_history_all.json').json;
    expect(Object.values(history).map((e: any) => [e.prompt[0], e.status.status_str, e.outputs])).toEqual(
      Object.values(captured).map((e: any) => [e.prompt[0], e.status.status_str, e.outputs]),
    );
  });
});
