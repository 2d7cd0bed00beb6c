import { randomUUID } from 'node:crypto';
import { COMFYUI_VERSIONS, startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyPromptLostError, ComfyUnreachableError, type SocketState } from '../src';

// Against both real ComfyUI versions the simulator stands in for (they differ in empty-body Content-Type,
// extra_data.create_time and the order of a cached output's replay; the client must not depend on those).
describe.each(COMFYUI_VERSIONS)('ComfyClient.follow and recovery (simulating ComfyUI %s)', (comfyuiVersion) => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, comfyuiVersion });
    client = new ComfyClient({ baseUrl: sim.url });
    await client.connect();
  });

  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('when following a prompt that already finished, then its result comes straight from history', async () => {
    const done = await client.run(textToImage({ seed: 100 }));
    const started = jest.fn();
    const followed = await client.follow(done.promptId, { onStarted: started });
    expect(followed.outputs).toEqual(done.outputs);
    expect(followed.history).toEqual(done.history);
    expect(started).not.toHaveBeenCalled();
  });

  it('when following a prompt submitted earlier that is still running, then it is followed to the end', async () => {
    const { promptId } = await client.submit(textToImage({ seed: 101, steps: 20 }), { promptId: randomUUID() });
    const progress: number[] = [];
    const result = await client.follow(promptId, { onProgress: (p) => void progress.push(p.value) });
    expect(result.outputs).toHaveLength(1);
    expect(progress.at(-1)).toBe(20);
  });

  it('when the server has no trace of the prompt, then follow throws ComfyPromptLostError, or resubmits under the same id', async () => {
    const promptId = randomUUID();
    await expect(client.follow(promptId)).rejects.toBeInstanceOf(ComfyPromptLostError);
    const result = await client.follow(promptId, { resubmit: textToImage({ seed: 102 }) });
    expect(result.promptId).toBe(promptId);
    expect(sim.received.at(-1)?.promptId).toBe(promptId);
  });

  it('when a pending prompt is deleted from the queue, then run gives up with ComfyPromptLostError', async () => {
    const blocker = await client.submit(textToImage({ seed: 103, steps: 60 }));
    const promptId = randomUUID();
    const waiting = client.run(textToImage({ seed: 104 }), { promptId, pollIntervalMs: 20 });
    // Deleted once it is queued (behind the blocker), however long the POST takes on a busy machine.
    for (let i = 0; i < 200 && !sim.received.some((r) => r.promptId === promptId); i++) await new Promise((r) => setTimeout(r, 25));
    await client.deleteFromQueue([promptId]);
    await expect(waiting).rejects.toBeInstanceOf(ComfyPromptLostError);
    await client.interrupt(blocker.promptId);
  });

  it('when the socket drops mid-run, then the client reconnects and the run still completes', async () => {
    const states: SocketState[] = [];
    const unsubscribe = client.onConnectionChange((state) => states.push(state));
    let dropped = false;
    const result = await client.run(textToImage({ seed: 105, steps: 100 }), {
      pollIntervalMs: 100,
      onProgress: () => {
        if (!dropped) {
          dropped = true;
          sim.disconnectSockets();
        }
      },
    });
    expect(result.history.status?.status_str).toBe('success');
    for (let i = 0; i < 100 && !client.connected; i++) await new Promise((r) => setTimeout(r, 50));
    unsubscribe();
    expect(states).toEqual(['closed', 'open']);
    expect(client.connected).toBe(true);
  });

  it('when listeners subscribe, then they get parsed messages until they unsubscribe', async () => {
    const types: string[] = [];
    const unsubscribe = client.onMessage((message) => types.push(message.type));
    await client.run(textToImage({ seed: 106 }));
    unsubscribe();
    expect(types).toEqual(expect.arrayContaining(['status', 'execution_start', 'executing', 'progress', 'executed', 'execution_success']));
    // Dropped unparsed: every node's state on each change, which following a prompt never needs.
    expect(types).not.toContain('progress_state');
    expect(client.queueRemainingFromSocket).toBe(0);
  });
});

describe('ComfyClient when ComfyUI is unreachable', () => {
  it('when nothing listens, then connect, submit and reads throw ComfyUnreachableError', async () => {
    const sim = await startSimulator();
    const url = sim.url;
    await sim.close();
    const client = new ComfyClient({ baseUrl: url, requestTimeoutMs: 2_000 });
    await expect(client.connect()).rejects.toBeInstanceOf(ComfyUnreachableError);
    await expect(client.submit(textToImage())).rejects.toBeInstanceOf(ComfyUnreachableError);
    await expect(client.systemStats()).rejects.toBeInstanceOf(ComfyUnreachableError);
    await expect(client.run(textToImage())).rejects.toBeInstanceOf(ComfyUnreachableError);
    client.close();
  });

  it('when the server dies while a prompt runs, then run fails with ComfyUnreachableError after the grace period', async () => {
    const sim = await startSimulator({ stepMs: 20 });
    const client = new ComfyClient({ baseUrl: sim.url, requestTimeoutMs: 1_000 });
    await client.connect();
    const running = client.run(textToImage({ steps: 500 }), { pollIntervalMs: 50, unreachableTimeoutMs: 300, onStarted: () => void sim.close() });
    await expect(running).rejects.toBeInstanceOf(ComfyUnreachableError);
    client.close();
  });
});
