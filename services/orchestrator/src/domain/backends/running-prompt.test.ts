import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { runningPrompt } from './running-prompt';

/** What the health probe asks when /system_stats times out and the socket is silent: is a prompt running, by ComfyUI's own /queue? */
describe('runningPrompt', () => {
  let sim: Simulator;
  let client: ComfyClient;

  beforeEach(async () => {
    sim = await startSimulator({ stepMs: 100 });
    client = new ComfyClient({ baseUrl: sim.url, requestTimeoutMs: 500 });
  });

  afterEach(async () => {
    client.close();
    sim.misbehave();
    await fetch(`${sim.url}/interrupt`, { method: 'POST', body: '{}' });
    await sim.close();
  });

  it('when a prompt runs, then its id; when none does, then undefined', async () => {
    expect(await runningPrompt(client)).toBeUndefined();
    const { promptId } = await client.submit(textToImage({ steps: 100, seed: 1 }));
    // One waits behind it: the running one is named.
    await client.submit(textToImage({ steps: 2, seed: 2 }));
    expect(await runningPrompt(client)).toBe(promptId);
  });

  it('when /queue answers as no ComfyUI does, past the timeout, or not at all, then undefined, never a rejection', async () => {
    await client.submit(textToImage({ steps: 100, seed: 3 }));
    const answers: unknown[] = [];
    for (const body of [{}, [], { queue_running: 'x', queue_pending: [] }, { queue_running: [null] }, { queue_running: [[1, '']] }, { queue_running: [[1, 7]] }]) {
      sim.misbehave({ kind: 'json', path: '/queue', body });
      answers.push(await runningPrompt(client));
    }
    sim.misbehave({ kind: 'not_json', path: '/queue' });
    answers.push(await runningPrompt(client));
    sim.misbehave({ kind: 'delayed', path: '/queue', delayMs: 2_000 });
    const started = Date.now();
    answers.push(await runningPrompt(client));
    expect(Date.now() - started).toBeLessThan(1_500);
    answers.push(await runningPrompt(new ComfyClient({ baseUrl: 'http://127.0.0.1:1', requestTimeoutMs: 500 })));
    expect(answers).toEqual(answers.map(() => undefined));
  });

  it('when the running prompt\'s id is longer than any ComfyUI makes, then it is cut for the message', async () => {
    const long = `p${'x'.repeat(300)}`;
    sim.misbehave({ kind: 'json', path: '/queue', body: { queue_running: [[0, long, {}, {}, []]], queue_pending: [] } });
    expect(await runningPrompt(client)).toBe(`${long.slice(0, 64)}…`);
  });
});
