import { randomUUID } from 'node:crypto';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { startTcpProxy, waitFor } from '@anime/testing';
import { ComfyClient, type ClientIdLeases, type ComfyMessage } from '../src';
import { ClientIdWatch } from '../src/socket/client-id-watch';

/** Holds in memory, as a lease store shared by processes would: one holder per clientId. */
class MemoryLeases implements ClientIdLeases {
  constructor(
    readonly holders = new Map<string, string>(),
    private readonly me = randomUUID(),
  ) {}

  async hold(clientId: string): Promise<boolean> {
    const holder = this.holders.get(clientId);
    if (holder !== undefined && holder !== this.me) return false;
    this.holders.set(clientId, this.me);
    return true;
  }

  async release(clientId: string): Promise<void> {
    if (this.holders.get(clientId) === this.me) this.holders.delete(clientId);
  }
}

/** Holds that lapse `leaseMs` after their last renewal, as RedisClientIdLeases' keys do. */
class LapsingLeases implements ClientIdLeases {
  constructor(
    private readonly holders: Map<string, { holder: string; until: number }>,
    private readonly me: string,
    private readonly leaseMs: number,
  ) {}

  async hold(clientId: string): Promise<boolean> {
    const held = this.holders.get(clientId);
    if (held && held.holder !== this.me && held.until > Date.now()) return false;
    this.holders.set(clientId, { holder: this.me, until: Date.now() + this.leaseMs });
    return true;
  }

  async release(clientId: string): Promise<void> {
    if (this.holders.get(clientId)?.holder === this.me) this.holders.delete(clientId);
  }
}

const QUIET = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const until = (condition: () => boolean, what: string) => waitFor(condition, what, 5_000, 25);

/** The progress values of one prompt a client's own socket hears. */
function progressHeard(client: ComfyClient, promptId: string): number[] {
  const values: number[] = [];
  client.onMessage((message: ComfyMessage) => {
    if (message.type === 'progress' && message.data.prompt_id === promptId) values.push(message.data.value);
  });
  return values;
}

describe('ComfyClient.follow of a prompt sent under another clientId (ComfyUI sends its events to that id only)', () => {
  let sim: Simulator;
  let follower: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 20 });
    follower = new ComfyClient({ baseUrl: sim.url });
    await follower.connect();
  });

  afterAll(async () => {
    follower.close();
    await sim.close();
  });

  it('when the client that sent it is gone and the leases lend its id, then the prompt is followed live under that id, and the hold is given up after', async () => {
    const owner = new ComfyClient({ baseUrl: sim.url, clientId: `gone-${randomUUID()}` });
    await owner.connect();
    const { promptId } = await owner.submit(textToImage({ seed: 1, steps: 40 }), { promptId: randomUUID() });
    owner.close();

    const leases = new MemoryLeases();
    const ticks: number[] = [];
    const result = await follower.follow(promptId, { leases, onProgress: (p) => void ticks.push(p.value) });
    expect(result.history.status?.status_str).toBe('success');
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    expect(ticks.at(-1)).toBe(40);
    expect(leases.holders.has(owner.clientId)).toBe(false);
  });

  it('when two prompts of one gone client are followed at once, then they share one socket under its id and both are heard', async () => {
    const owner = new ComfyClient({ baseUrl: sim.url, clientId: `gone-${randomUUID()}` });
    await owner.connect();
    const first = await owner.submit(textToImage({ seed: 2, steps: 30 }), { promptId: randomUUID() });
    const second = await owner.submit(textToImage({ seed: 3, steps: 30 }), { promptId: randomUUID() });
    owner.close();

    const leases = new MemoryLeases();
    const ticks: Record<string, number[]> = { [first.promptId]: [], [second.promptId]: [] };
    const options = { leases, onProgress: (p: { promptId: string; value: number }) => void ticks[p.promptId].push(p.value) };
    await Promise.all([follower.follow(first.promptId, options), follower.follow(second.promptId, options)]);
    // Two sockets under one id would replace each other: the first prompt's events would reach the second's socket only.
    expect(ticks[first.promptId].at(-1)).toBe(30);
    expect(ticks[second.promptId].at(-1)).toBe(30);
    expect(leases.holders.size).toBe(0);
  });

  it('when another live process holds the id, then no socket is opened under it: the holder keeps hearing every event and the prompt still completes through /history', async () => {
    const owner = new ComfyClient({ baseUrl: sim.url, clientId: `live-${randomUUID()}` });
    await owner.connect();
    try {
      const { promptId } = await owner.submit(textToImage({ seed: 4, steps: 40 }), { promptId: randomUUID() });
      const heardByOwner = progressHeard(owner, promptId);
      const leases = new MemoryLeases(new Map([[owner.clientId, 'the owner process']]));
      const ticks: number[] = [];
      const result = await follower.follow(promptId, { leases, pollIntervalMs: 100, onProgress: (p) => void ticks.push(p.value) });
      expect(result.history.status?.status_str).toBe('success');
      expect(ticks).toEqual([]);
      expect(heardByOwner.at(-1)).toBe(40);
    } finally {
      owner.close();
    }
  });

  it('when its own clientId sent the prompt, then no second socket is opened and the leases are not asked', async () => {
    const { promptId } = await follower.submit(textToImage({ seed: 5, steps: 10 }), { promptId: randomUUID() });
    const leases = new MemoryLeases();
    const hold = jest.spyOn(leases, 'hold');
    const ticks: number[] = [];
    await follower.follow(promptId, { leases, onProgress: (p) => void ticks.push(p.value) });
    expect(hold).not.toHaveBeenCalled();
    expect(ticks.at(-1)).toBe(10);
  });

  it('when the watch loses its hold to another process, then it closes its socket at its next check, and opens it again once the id is free', async () => {
    const holders = new Map<string, string>();
    const clientId = `lent-${randomUUID()}`;
    const watch = new ClientIdWatch(`${sim.url.replace(/^http/, 'ws')}/ws`, clientId, 2_000, QUIET, new MemoryLeases(holders), 50);
    try {
      watch.start();
      await until(() => watch.listening, 'the watch to open its socket');
      expect(holders.has(clientId)).toBe(true);
      holders.set(clientId, 'another process');
      await until(() => !watch.listening, 'the watch to close its socket');
      holders.delete(clientId);
      await until(() => watch.listening, 'the watch to open its socket again');
    } finally {
      watch.close();
    }
    await until(() => !holders.has(clientId), 'the hold to be given up');
  });

  it('when the server leaves the handshake hanging longer than a lease, then the hold is renewed meanwhile: no other process takes the id this one is dialling', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(sim.url).port) });
    const holders = new Map<string, { holder: string; until: number }>();
    const clientId = `dialling-${randomUUID()}`;
    const watch = new ClientIdWatch(`${proxy.urlFor(sim.url).replace(/^http/, 'ws').replace(/\/+$/, '')}/ws`, clientId, 10_000, QUIET, new LapsingLeases(holders, 'this process', 300), 50);
    try {
      // A frozen host: the dial is taken and held, unanswered, for three leases.
      proxy.blackHole();
      watch.start();
      await new Promise((r) => setTimeout(r, 1_000));
      expect(watch.listening).toBe(false);
      expect(await new LapsingLeases(holders, 'another process', 300).hold(clientId)).toBe(false);
      proxy.heal();
      await until(() => watch.listening, 'the socket to open once the server answers');
    } finally {
      watch.close();
      await proxy.close();
    }
  });

  it('when the hold is lost while the handshake hangs, then the dial is given up: no socket opens under an id another process holds', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(sim.url).port) });
    const holders = new Map<string, string>();
    const clientId = `dialling-${randomUUID()}`;
    const watch = new ClientIdWatch(`${proxy.urlFor(sim.url).replace(/^http/, 'ws').replace(/\/+$/, '')}/ws`, clientId, 10_000, QUIET, new MemoryLeases(holders), 50);
    const heard: string[] = [];
    watch.onMessage((message) => void heard.push(message.type));
    try {
      proxy.blackHole();
      watch.start();
      await until(() => holders.has(clientId), 'the watch to hold the id');
      holders.set(clientId, 'another process');
      await new Promise((r) => setTimeout(r, 300));
      proxy.heal();
      await new Promise((r) => setTimeout(r, 500));
      expect({ listening: watch.listening, heard }).toEqual({ listening: false, heard: [] });
    } finally {
      watch.close();
      await proxy.close();
    }
  });
});
