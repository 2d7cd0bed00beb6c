import { startSimulator, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson } from './helpers/http';
import { summarize, WsRecorder } from './helpers/ws-recorder';

/**
 * comfy_execution/progress.py (WebUIProgressHandler._send_progress_state) sends progress_state to
 * the prompt's client_id (`send_sync(..., self.server_instance.client_id)`, since Comfy-Org/ComfyUI#9706,
 * 2025-09-03, "Fix progress update crossover between users": both simulated versions have it). As
 * `progress`, a prompt without a client_id has it sent to every socket (sid None broadcasts).
 */
describe('who hears a prompt’s progress_state', () => {
  let sim: Simulator;
  let owner: WsRecorder;
  let other: WsRecorder;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    owner = await WsRecorder.connect(sim.url, 'owner');
    other = await WsRecorder.connect(sim.url, 'other');
  });

  afterAll(async () => {
    owner.close();
    other.close();
    await sim.close();
  });

  const idle = (recorder: WsRecorder, from: number) => recorder.waitFor((m) => m.type === 'status' && m.data.status.exec_info.queue_remaining === 0, 15_000, from);

  it('when a prompt of one client runs, then only that client hears its progress_state; another hears its status broadcasts alone', async () => {
    const fromOwner = owner.messages.length;
    const fromOther = other.messages.length;
    const response = await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2, seed: 1 }), client_id: 'owner' });
    expect(response.status).toBe(200);
    const ownerMessages = await owner.untilDone(response.json.prompt_id, fromOwner);
    await idle(other, fromOther);

    expect(ownerMessages.filter((m) => m.type === 'progress_state').length).toBeGreaterThan(0);
    expect([...new Set(other.messages.slice(fromOther).map((m) => m.type))]).toEqual(['status']);
    expect(ownerMessages.map(summarize).at(-1)).toBe('executing(node=None)');
  });

  it('when a prompt has no client_id, then every socket hears its progress_state and progress (and none its executing)', async () => {
    const from = [owner.messages.length, other.messages.length];
    const response = await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2, seed: 2 }) });
    expect(response.status).toBe(200);
    const promptId = response.json.prompt_id;
    for (const [i, recorder] of [owner, other].entries()) {
      await idle(recorder, from[i]);
      const heard = recorder.messages.slice(from[i]);
      expect(heard.filter((m) => m.type === 'progress_state' && m.data.prompt_id === promptId).length).toBeGreaterThan(0);
      expect(heard.filter((m) => m.type === 'progress' && m.data.prompt_id === promptId).length).toBe(2);
      expect(heard.some((m) => m.type === 'executing')).toBe(false);
    }
  });
});
