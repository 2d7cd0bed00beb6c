import WebSocket from 'ws';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient } from '../src';

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

describe('ComfyClient when ComfyUI stops sending to its open socket (a replaced socket closed late under the same clientId)', () => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5 });
  });

  afterAll(async () => {
    client?.close();
    await sim.close();
  });

  it('when a queued prompt brings no status within socketSilenceMs, then the socket is dialled again under a new clientId and later prompts are followed live', async () => {
    // server.py: the new socket replaces the old in its map, then the old one's close pops the id: the new one is deaf.
    const old = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/ws?clientId=orch-1`);
    await new Promise((resolve, reject) => old.once('open', resolve).once('error', reject));
    client = new ComfyClient({ baseUrl: sim.url, clientId: 'orch-1', socketSilenceMs: 300 });
    await client.connect();
    await new Promise((resolve) => {
      old.once('close', resolve);
      old.close();
    });
    await new Promise((r) => setTimeout(r, 100));

    const deafTicks: number[] = [];
    const first = await client.run(textToImage({ seed: 1, steps: 3 }), { pollIntervalMs: 100, onProgress: (p) => void deafTicks.push(p.value) });
    expect(first.history.status?.status_str).toBe('success');
    // Finished through its /history poll: not one event reached the deaf socket.
    expect(deafTicks).toEqual([]);

    await until(() => client.clientId !== 'orch-1' && client.connected, 'the socket to be dialled again');
    const ticks: number[] = [];
    const second = await client.run(textToImage({ seed: 2, steps: 3 }), { onProgress: (p) => void ticks.push(p.value) });
    expect(second.history.status?.status_str).toBe('success');
    expect(ticks).toEqual([1, 2, 3]);
    expect(sim.received.at(-1)).toMatchObject({ promptId: second.promptId, clientId: client.clientId });
  });

  it('when the socket hears the status that follows a queued prompt, then it keeps its clientId', async () => {
    const steady = new ComfyClient({ baseUrl: sim.url, clientId: 'orch-2', socketSilenceMs: 300 });
    await steady.connect();
    try {
      await steady.run(textToImage({ seed: 3, steps: 2 }));
      await new Promise((r) => setTimeout(r, 500));
      expect(steady.clientId).toBe('orch-2');
      expect(steady.connected).toBe(true);
    } finally {
      steady.close();
    }
  });
});
