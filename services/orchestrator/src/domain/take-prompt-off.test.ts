import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { createLogger } from '@anime/logger';
import { waitFor } from '@anime/testing';
import { takePromptOff } from './take-prompt-off';

const log = createLogger('orchestrator', 'error');

/** A ComfyClient stand-in whose queue follows a script of [running, pending] looks, then stays on the last. */
function fakeClient(looks: [string[], string[]][], ended: string[] = []) {
  const calls: string[] = [];
  let look = 0;
  const client = {
    baseUrl: 'http://fake',
    // ComfyUI's history holds what ran (ended, failed or interrupted): never a prompt deleted while it waited, nor one it lost.
    history: async (id: string) => (ended.includes(id) || calls.includes(`interrupt ${id}`) ? { prompt: [0, id], outputs: {}, status: { completed: true } } : undefined),
    queue: async () => {
      const [running, pending] = looks[Math.min(look++, looks.length - 1)];
      return { running: running.map((promptId) => ({ promptId })), pending: pending.map((promptId) => ({ promptId })) };
    },
    deleteFromQueue: async (ids: string[]) => void calls.push(`delete ${ids.join(',')}`),
    interrupt: async (id?: string) => void calls.push(`interrupt ${id}`),
  };
  return { client: client as unknown as ComfyClient, calls };
}

describe('takePromptOff', () => {
  it('when the prompt waits in the queue, then it is deleted once and told deleted (before it ran) once gone; the prompt beside it is untouched', async () => {
    const { client, calls } = fakeClient([[['other'], ['p']], [['other'], ['p']], [['other'], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('deleted');
    expect(calls).toEqual(['delete p']);
  });

  it('when the prompt starts running between two looks, then it is interrupted once after the delete missed it', async () => {
    const { client, calls } = fakeClient([[[], ['p']], [['p'], []], [['p'], []], [[], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('interrupted');
    expect(calls).toEqual(['delete p', 'interrupt p']);
  });

  it('when ComfyUI never lets go of the running prompt, then exactly one interrupt is sent and it gives up after the grace: the interrupt was ignored', async () => {
    const { client, calls } = fakeClient([[['p'], []]]);
    const started = Date.now();
    expect(await takePromptOff(client, 'p', { log, graceMs: 400 })).toBe('ignored');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(calls).toEqual(['interrupt p']);
  });

  it('when the interrupt never reached ComfyUI (its request failed), then a prompt still running at the grace is unconfirmed, not an ignored interrupt: the backend is not taken for stuck', async () => {
    const { client } = fakeClient([[['p'], []]]);
    (client as unknown as { interrupt: () => Promise<void> }).interrupt = async () => {
      throw new Error('socket hang up');
    };
    expect(await takePromptOff(client, 'p', { log, graceMs: 300 })).toBe('unconfirmed');
  });

  it('when the interrupt request fails once (a transient error), then it is sent again at the next look within the grace, and the prompt it stops is confirmed gone', async () => {
    let stopped = false;
    const { client, calls } = fakeClient([[['p'], []]]);
    let tries = 0;
    const fake = client as unknown as { interrupt: (id: string) => Promise<void>; queue: () => Promise<unknown> };
    fake.interrupt = async (id: string) => {
      if (++tries === 1) throw new Error('socket hang up');
      calls.push(`interrupt ${id}`);
      stopped = true;
    };
    fake.queue = async () => ({ running: stopped ? [] : [{ promptId: 'p' }], pending: [] });
    expect(await takePromptOff(client, 'p', { log, graceMs: 2_000 })).toBe('interrupted');
    expect(tries).toBe(2);
    expect(calls).toEqual(['interrupt p']);
  });

  it('when the interrupt request fails once and ComfyUI then answers it but never lets go, then the interrupt was ignored (answered once, not sent again)', async () => {
    const { client, calls } = fakeClient([[['p'], []]]);
    let tries = 0;
    (client as unknown as { interrupt: (id: string) => Promise<void> }).interrupt = async (id: string) => {
      if (++tries === 1) throw new Error('socket hang up');
      calls.push(`interrupt ${id}`);
    };
    expect(await takePromptOff(client, 'p', { log, graceMs: 400 })).toBe('ignored');
    expect(tries).toBe(2);
    expect(calls).toEqual(['interrupt p']);
  });

  it('when the delete request fails once, then it is sent again at the next look, and the prompt it takes off is confirmed gone', async () => {
    let deleted = false;
    const { client } = fakeClient([[['other'], ['p']]]);
    let tries = 0;
    const fake = client as unknown as { deleteFromQueue: (ids: string[]) => Promise<void>; queue: () => Promise<unknown> };
    fake.deleteFromQueue = async () => {
      if (++tries === 1) throw new Error('socket hang up');
      deleted = true;
    };
    fake.queue = async () => ({ running: [{ promptId: 'other' }], pending: deleted ? [] : [{ promptId: 'p' }] });
    expect(await takePromptOff(client, 'p', { log, graceMs: 2_000 })).toBe('deleted');
    expect(tries).toBe(2);
  });

  it('when the prompt stays waiting in the queue past the grace, then it is unconfirmed, not an ignored interrupt', async () => {
    const { client, calls } = fakeClient([[['other'], ['p']]]);
    expect(await takePromptOff(client, 'p', { log, graceMs: 300 })).toBe('unconfirmed');
    expect(calls).toEqual(['delete p']);
  });

  it('when the prompt had already ended (in its history), then nothing is sent and it is told ended', async () => {
    const { client, calls } = fakeClient([[[], []]], ['p']);
    expect(await takePromptOff(client, 'p', { log })).toBe('ended');
    expect(calls).toEqual([]);
  });

  it('when ComfyUI does not know the prompt (neither queued, running nor in its history: lost in a restart), then nothing is sent and it is told lost, not let go of', async () => {
    const { client, calls } = fakeClient([[['other'], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('lost');
    expect(calls).toEqual([]);
  });
});

describe('takePromptOff on a backend whose /queue is too large to read (simulator)', () => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5 });
    client = new ComfyClient({ baseUrl: sim.url });
  });

  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('when /queue answers past the bound (a busy server), then a waiting prompt is still deleted, a running one is not interrupted (it cannot be seen), and it returns at once, unconfirmed', async () => {
    const running = await client.submit(textToImage({ steps: 2000, seed: 1 }));
    const waiting = await client.submit(textToImage({ steps: 2, seed: 2 }));
    await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === running.promptId), 'the first prompt to run');
    sim.misbehave({ kind: 'oversized', path: '/queue', bytes: 100 * 1024 * 1024, declared: true });
    try {
      const started = Date.now();
      expect(await takePromptOff(client, waiting.promptId, { log, graceMs: 10_000 })).toBe('unconfirmed');
      expect(await takePromptOff(client, running.promptId, { log, graceMs: 10_000 })).toBe('unconfirmed');
      // Far below the 10 s grace: nothing it could see would change.
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      sim.misbehave(undefined);
    }
    expect(sim.controls.map((c) => [c.path, c.body])).toEqual([
      ['/queue', { delete: [waiting.promptId] }],
      ['/queue', { delete: [running.promptId] }],
    ]);
    const queue = await client.queue();
    expect(queue.pending).toEqual([]);
    expect(queue.running.map((item) => item.promptId)).toEqual([running.promptId]);
    await client.interrupt();
  });
});
