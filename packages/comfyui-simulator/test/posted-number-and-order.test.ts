import { startSimulator, type Simulator } from '../src';
import { waitForHistory } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * Python keeps what the posted JSON said. server.post_prompt does `number = float(json_data['number'])`
 * (protocol notes §3.1: "Stored as a float"), so an explicit 5 is 5.0 in the answer, /queue and history;
 * and execute() lists execution_cached nodes `for node_id in prompt`, i.e. in the order they were posted.
 */
describe('what the server echoes of a posted prompt', () => {
  let sim: Simulator;
  let ws: WsRecorder;
  const postRaw = async (body: string) => (await fetch(`${sim.url}/prompt`, { method: 'POST', body })).text();
  const probe = '{"2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "order"}}, "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}}';

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    ws = await WsRecorder.connect(sim.url, 'o');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  it('when a number is given, then every answer shows it as a float', async () => {
    const answer = await postRaw(`{"prompt": ${probe}, "number": 5, "client_id": "o"}`);
    const promptId = JSON.parse(answer).prompt_id;
    expect(answer).toBe(`{"prompt_id": "${promptId}", "number": 5.0, "node_errors": {}}`);
    await waitForHistory(sim.url, promptId);
    expect(await (await fetch(`${sim.url}/history/${promptId}`)).text()).toContain(`{"prompt": [5.0, "${promptId}", {"2": {"class_type": "SaveImage"`);
  });

  it('when the same prompt comes again, then execution_cached lists the nodes in the posted order', async () => {
    const from = ws.messages.length;
    const promptId = JSON.parse(await postRaw(`{"prompt": ${probe}, "client_id": "o"}`)).prompt_id;
    const cached = await ws.waitFor((m) => m.type === 'execution_cached' && m.data.prompt_id === promptId, 15_000, from);
    expect(cached.data.nodes).toEqual(['2', '1']);
    expect(await postRaw(`{"prompt": ${probe}}`)).toMatch(/"number": 1, /);
  });
});
