import { startSimulator, textToImage, type Simulator } from '../src';
import { postJson, waitForHistory } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * server.post_interrupt: `prompt_id = json_data.get('prompt_id')`, then `if prompt_id:` — any falsy
 * value ([], {}, "", 0, null) means a global interrupt; any other is compared with the running
 * prompt's id (`item[1] == prompt_id`, where a str equals only the same str), else nothing happens.
 * The body is read with request.json(): Python's json.loads (NaN is a value), after a strict UTF-8
 * decode whose UnicodeDecodeError nothing catches (a 500 that interrupts nothing).
 */
describe('what POST /interrupt makes of its body', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 20 });
    ws = await WsRecorder.connect(sim.url, 'i');
  });

  afterEach(async () => {
    ws.close();
    await sim.close();
  });

  async function running(extra: Record<string, unknown> = {}, steps = 200): Promise<string> {
    const { prompt_id: promptId } = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps }), client_id: 'i', ...extra })).json;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === promptId);
    return promptId;
  }
  const lastMessage = async (promptId: string) => (await waitForHistory(sim.url, promptId)).status.messages.at(-1)[0];

  it.each([['[]'], ['{}'], ['""'], ['0'], ['false'], ['null']])('when prompt_id is %s (falsy), then whatever runs is interrupted', async (falsy) => {
    const promptId = await running();
    expect((await postJson(sim.url, '/interrupt', `{"prompt_id": ${falsy}}`)).status).toBe(200);
    expect(await lastMessage(promptId)).toBe('execution_interrupted');
  });

  it('when prompt_id is a number equal to the running id in text, then nothing is interrupted (str == int is False)', async () => {
    // str(5) made the running prompt's id "5".
    const promptId = await running({ prompt_id: 5 }, 10);
    expect(promptId).toBe('5');
    expect((await postJson(sim.url, '/interrupt', '{"prompt_id": 5}')).status).toBe(200);
    expect(await lastMessage(promptId)).toBe('execution_success');
  });

  it('when prompt_id is NaN (json.loads reads it), then it is a truthy id of no prompt: nothing is interrupted', async () => {
    const promptId = await running({}, 10);
    expect((await postJson(sim.url, '/interrupt', '{"prompt_id": NaN}')).status).toBe(200);
    expect(await lastMessage(promptId)).toBe('execution_success');
  });

  it('when the body is not UTF-8, then it is a 500 and nothing is interrupted', async () => {
    const promptId = await running({}, 10);
    const response = await fetch(`${sim.url}/interrupt`, { method: 'POST', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(response.status).toBe(500);
    expect(await lastMessage(promptId)).toBe('execution_success');
  });
});
