import { emptyImageProbe, startSimulator, textToImage, type Simulator } from '../src';
import { getJson, postJson, waitForHistory } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * POST /prompt, /queue and /history take `json_data = await request.json()` as it comes, then use
 * Python's `in`, `[]` and `for` on it (server.py post_prompt, post_queue, post_history; run against
 * Debian's aiohttp 3.8.4 with those handlers). `"clear" in json_data` is a substring test on a str and
 * an item test on a list, so a list or a str body passes until it is indexed by a str (TypeError, a
 * 500); null, a number or a bool raise at the first `in`. Truth is Python's ({"clear": []} clears
 * nothing), and `for id in json_data["delete"]` walks a str's characters and a dict's keys.
 */
describe('JSON bodies that are not objects, and values that are not lists', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 20 });
    ws = await WsRecorder.connect(sim.url, 'n');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  const post = async (path: string, body: string) => (await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).status;
  /** server.number as the next accepted prompt gets it (that prompt advances it by one). */
  const nextNumber = async () => (await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('n') })).json.number as number;

  it.each([
    ['[]', 400, 1],
    ['"x"', 400, 1],
    ['""', 400, 1],
    ['["clear", "delete"]', 400, 1],
    ['"cleared"', 400, 1],
    ['3', 500, 0],
    ['3.5', 500, 0],
    ['true', 500, 0],
    ['null', 500, 0],
    ['["prompt"]', 500, 1],
    ['"prompt"', 500, 1],
    ['["number"]', 500, 0],
    ['"numbers"', 500, 0],
    ['["front"]', 500, 0],
  ])('when POST /prompt gets %s, then it is a %i and server.number advances by %i', async (body, status, advance) => {
    const before = await nextNumber();
    expect(await post('/prompt', body)).toBe(status);
    expect(await nextNumber()).toBe(before + 1 + advance);
  });

  it('when front is an empty list, then it is false: the prompt keeps a positive number', async () => {
    const answer = await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('n'), front: [] });
    expect(answer.status).toBe(200);
    expect(answer.json.number).toBeGreaterThan(0);
  });

  it('when POST /queue gets non-object bodies and odd values, then pending prompts go as post_queue would take them', async () => {
    const running = (await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 500 }), client_id: 'n' })).json;
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === running.prompt_id);
    for (const id of ['a', 'b', 'c', 'd']) await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('q'), prompt_id: id });
    const pending = async () => (await getJson(sim.url, '/queue')).queue_pending.map((item: unknown[]) => item[1]).sort();

    for (const body of ['[]', '"x"', '["prompt", "front"]', '"prompt"', '{"clear": []}', '{"clear": {}}', '{"clear": 0.0}']) {
      expect([body, await post('/queue', body)]).toEqual([body, 200]);
    }
    for (const body of ['null', '3', 'true', '["clear"]', '"clear"', '"xdeletex"', '{"delete": 5}', '{"delete": null}']) {
      expect([body, await post('/queue', body)]).toEqual([body, 500]);
    }
    expect(await pending()).toEqual(['a', 'b', 'c', 'd']);

    expect(await post('/queue', '{"delete": "ab"}')).toBe(200);
    expect(await pending()).toEqual(['c', 'd']);
    expect(await post('/queue', '{"delete": {"c": true}}')).toBe(200);
    expect(await pending()).toEqual(['d']);
    // The clear is done before `for ... in 5` raises.
    expect(await post('/queue', '{"clear": "no", "delete": 5}')).toBe(500);
    expect(await pending()).toEqual([]);
    await post('/interrupt', '{}');
  });

  it('when POST /history gets non-object bodies and odd values, then entries go as post_history would take them', async () => {
    for (const id of ['h', 'i', 'j', 'k', 'l']) await waitForHistory(sim.url, (await postJson(sim.url, '/prompt', { prompt: emptyImageProbe('h'), prompt_id: id })).json.prompt_id);
    const kept = async () => Object.keys(await getJson(sim.url, '/history')).filter((id) => 'hijkl'.includes(id)).sort();

    for (const body of ['[]', '"x"', '["prompt"]', '{"clear": []}', '{"clear": ""}', '{"delete": [5, null, true]}']) {
      expect([body, await post('/history', body)]).toEqual([body, 200]);
    }
    for (const body of ['null', '1', 'false', '["delete"]', '"cleared"', '{"delete": 5}']) {
      expect([body, await post('/history', body)]).toEqual([body, 500]);
    }
    expect(await kept()).toEqual(['h', 'i', 'j', 'k', 'l']);

    expect(await post('/history', '{"delete": "hi"}')).toBe(200);
    expect(await kept()).toEqual(['j', 'k', 'l']);
    // history.pop(["l"], None) raises (a list is unhashable), after "j" went.
    expect(await post('/history', '{"delete": ["j", ["l"], "k"]}')).toBe(500);
    expect(await kept()).toEqual(['k', 'l']);
    expect(await post('/history', '{"delete": {"k": 1}}')).toBe(200);
    expect(await kept()).toEqual(['l']);
    expect(await post('/history', '{"clear": 1, "delete": null}')).toBe(500);
    expect(await getJson(sim.url, '/history')).toEqual({});
  });
});
