import { emptyImageProbe, startSimulator, textToImage, type Simulator } from '../src';
import { getJson, postJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/**
 * PromptQueue keeps pending prompts in a heapq heap (put: heappush; delete_queue_item: pop(x) then
 * heapify), and GET /queue lists `copy.copy(self.queue)`: the heap's array as it stands, which is
 * ordered by (number, prompt_id) only along each branch, not sorted.
 */
describe('the order of queue_pending', () => {
  let sim: Simulator;
  let ws: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 20 });
    ws = await WsRecorder.connect(sim.url, 'h');
  });

  afterAll(async () => {
    ws.close();
    await sim.close();
  });

  const submit = async (prompt: unknown, extra: Record<string, unknown> = {}) => (await postJson(sim.url, '/prompt', { prompt, client_id: 'h', ...extra })).json;
  const pendingIds = async () => (await getJson(sim.url, '/queue')).queue_pending.map((item: unknown[]) => item[1]);

  it('when a front prompt joins three pending ones, then /queue shows the heap array, and after a delete the re-heapified one', async () => {
    const running = await submit(textToImage({ steps: 500 }));
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === running.prompt_id);
    const [p1, p2, p3] = [await submit(emptyImageProbe('p', 1)), await submit(emptyImageProbe('p', 2)), await submit(emptyImageProbe('p', 3))];
    const front = await submit(emptyImageProbe('p', 4), { front: true });
    expect([p1.number, p2.number, p3.number, front.number]).toEqual([1, 2, 3, -4]);
    // heappush of -4 onto [1, 2, 3]: it climbs past 2, then past 1.
    expect(await pendingIds()).toEqual([front.prompt_id, p1.prompt_id, p3.prompt_id, p2.prompt_id]);
    await postJson(sim.url, '/queue', { delete: [p1.prompt_id] });
    // [-4, 3, 2] after pop(1); heapify leaves it so (the root is already the least).
    expect(await pendingIds()).toEqual([front.prompt_id, p3.prompt_id, p2.prompt_id]);
    await postJson(sim.url, '/interrupt', {});
    // Taking still goes least first: -4, then 2, then 3.
    const done = await ws.waitFor((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === p3.prompt_id);
    const order = ws.messages.filter((m) => m.type === 'execution_start' && m.data.prompt_id !== running.prompt_id).map((m) => m.data.prompt_id);
    expect(order).toEqual([front.prompt_id, p2.prompt_id, p3.prompt_id]);
    expect(done.data.prompt_id).toBe(p3.prompt_id);
  });
});
