import { startSimulator, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson } from './helpers/http';
import { summarize, WsRecorder } from './helpers/ws-recorder';

/**
 * comfy_execution/progress.py (WebUIProgressHandler._send_progress_state) sends progress_state with
 * `send_sync("progress_state", {...})` and no sid, and server.send_json sends a message without a sid
 * to every socket: a prompt's progress_state reaches every client connected, not only the one whose
 * client_id the prompt carries. Every other execution event goes to that client alone.
 */
describe('progress_state goes to every socket', () => {
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

  it('when a prompt of one client runs, then another client hears its progress_state and status, and nothing else of it', async () => {
    const fromOwner = owner.messages.length;
    const fromOther = other.messages.length;
    const response = await postJson(sim.url, '/prompt', { prompt: textToImage({ steps: 2 }), client_id: 'owner' });
    expect(response.status).toBe(200);
    const promptId = response.json.prompt_id;
    const ownerMessages = await owner.untilDone(promptId, fromOwner);
    // The last progress_state (9:finished) precedes execution_success, so the other socket has it by the time status(0) comes.
    await other.waitFor((m) => m.type === 'status' && m.data.status.exec_info.queue_remaining === 0, 15_000, fromOther);

    const otherMessages = other.messages.slice(fromOther);
    const ownersStates = ownerMessages.filter((m) => m.type === 'progress_state');
    expect(ownersStates.length).toBeGreaterThan(0);
    expect(otherMessages.filter((m) => m.type === 'progress_state')).toEqual(ownersStates);
    expect(otherMessages.every((m) => m.data.prompt_id === undefined || m.data.prompt_id === promptId)).toBe(true);
    expect([...new Set(otherMessages.map((m) => m.type))].sort()).toEqual(['progress_state', 'status']);
    // The owner still hears the whole run, ending as always.
    expect(ownerMessages.map(summarize).at(-1)).toBe('executing(node=None)');
    expect(ownerMessages.some((m) => m.type === 'progress')).toBe(true);
  });
});
