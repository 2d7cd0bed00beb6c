import { startSimulator, type Simulator } from '../src';
import { getJson, postJson, waitForHistory } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';
import { emptyImageProbe, textToImage } from '../src/sample-workflows';

describe('queue, interrupt and history', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 20 });
    ws = await WsRecorder.connect(sim.url, 'q');
  });

  afterEach(async () => {
    ws.close();
    await sim.close();
  });

  const submit = async (prompt: unknown, extra: Record<string, unknown> = {}) =>
    (await postJson(sim.url, '/prompt', { prompt, client_id: 'q', ...extra })).json;
  const started = (promptId: string) => ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === promptId);

  it('when a running prompt is interrupted by id, then it ends with execution_interrupted and an error status', async () => {
    const { prompt_id: promptId } = await submit(textToImage({ steps: 200 }));
    await started(promptId);
    expect(await getJson(sim.url, '/queue')).toMatchObject({ queue_running: [[0, promptId, expect.any(Object), expect.any(Object), ['9']]], queue_pending: [] });
    expect((await postJson(sim.url, '/interrupt', { prompt_id: promptId })).status).toBe(200);
    const entry = await waitForHistory(sim.url, promptId);
    expect(entry.status).toMatchObject({ status_str: 'error', completed: false });
    const last = entry.status.messages.at(-1);
    expect(last[0]).toBe('execution_interrupted');
    expect(Object.keys(last[1])).toEqual(['prompt_id', 'node_id', 'node_type', 'executed', 'timestamp']);
    expect(last[1]).toMatchObject({ node_id: '3', node_type: 'KSampler' });
    await ws.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId);
  });

  it('when the interrupt names another prompt, then the running one carries on', async () => {
    const { prompt_id: promptId } = await submit(textToImage({ steps: 5 }));
    await started(promptId);
    await postJson(sim.url, '/interrupt', { prompt_id: 'someone-else' });
    expect((await waitForHistory(sim.url, promptId)).status.status_str).toBe('success');
  });

  it('when interrupt has no body, then whatever runs is interrupted', async () => {
    const { prompt_id: promptId } = await submit(textToImage({ steps: 200 }));
    await started(promptId);
    await fetch(`${sim.url}/interrupt`, { method: 'POST' });
    expect((await waitForHistory(sim.url, promptId)).status.messages.at(-1)[0]).toBe('execution_interrupted');
  });

  it('when the interrupt body is JSON but not an object, then it is a 500 and nothing is interrupted', async () => {
    // server.py catches only JSONDecodeError; `json_data.get('prompt_id')` on a list or null raises.
    const { prompt_id: promptId } = await submit(textToImage({ steps: 10 }));
    await started(promptId);
    expect((await postJson(sim.url, '/interrupt', [promptId])).status).toBe(500);
    expect((await postJson(sim.url, '/interrupt', 'null')).status).toBe(500);
    expect((await waitForHistory(sim.url, promptId)).status.status_str).toBe('success');
  });

  it('when a pending prompt is deleted, then it never runs while the running one is untouched', async () => {
    // Long enough (1 s) that it still runs when the queue is read and edited on a loaded machine.
    const running = await submit(textToImage({ steps: 50 }));
    const pending = await submit(textToImage({ steps: 10, seed: 2 }));
    await started(running.prompt_id);
    expect((await getJson(sim.url, '/prompt')).exec_info.queue_remaining).toBe(2);
    await postJson(sim.url, '/queue', { delete: [pending.prompt_id, running.prompt_id] });
    expect((await getJson(sim.url, '/queue')).queue_pending).toEqual([]);
    expect((await waitForHistory(sim.url, running.prompt_id)).status.status_str).toBe('success');
    await new Promise((r) => setTimeout(r, 100));
    expect(await getJson(sim.url, `/history/${pending.prompt_id}`)).toEqual({});
  });

  it('when front is set, then the prompt jumps ahead of pending ones with a negative number', async () => {
    // Long enough (1 s) that both prompts are still pending when the queue is read on a loaded machine.
    const first = await submit(textToImage({ steps: 50 }));
    await started(first.prompt_id);
    const normal = await submit(emptyImageProbe('normal'));
    const urgent = await submit(emptyImageProbe('urgent'), { front: true });
    expect(urgent.number).toBe(-2);
    expect((await getJson(sim.url, '/queue')).queue_pending.map((item: any[]) => item[1])).toEqual([urgent.prompt_id, normal.prompt_id]);
    await waitForHistory(sim.url, normal.prompt_id);
    expect(Object.keys(await getJson(sim.url, '/history'))).toEqual([first.prompt_id, urgent.prompt_id, normal.prompt_id]);
  });

  it('when history is paged, deleted or cleared, then it follows ComfyUI’s rules and unknown ids give {}', async () => {
    const ids: string[] = [];
    for (const color of [1, 2, 3, 4]) {
      const { prompt_id: promptId } = await submit(emptyImageProbe('h', color));
      await waitForHistory(sim.url, promptId);
      ids.push(promptId);
    }
    expect(Object.keys(await getJson(sim.url, '/history?max_items=2'))).toEqual(ids.slice(2));
    expect(Object.keys(await getJson(sim.url, '/history?max_items=2&offset=1'))).toEqual(ids.slice(1, 3));
    expect(Object.keys(await getJson(sim.url, '/history?offset=3'))).toEqual(ids.slice(3));
    await postJson(sim.url, '/history', { delete: [ids[0]] });
    expect(await getJson(sim.url, `/history/${ids[0]}`)).toEqual({});
    await postJson(sim.url, '/api/history', { clear: true });
    expect(await getJson(sim.url, '/history')).toEqual({});
    expect(await getJson(sim.url, '/history/never-seen')).toEqual({});
  });

  it('when a socket reconnects with the id of the running prompt, then it is told the current node', async () => {
    const { prompt_id: promptId } = await submit(textToImage({ steps: 200 }));
    await started(promptId);
    const again = await WsRecorder.connect(sim.url, 'q');
    const replay = await again.waitFor((m) => m.type === 'executing');
    expect(replay.data).toEqual({ node: '3' });
    again.close();
    await postJson(sim.url, '/interrupt', {});
  });
});
