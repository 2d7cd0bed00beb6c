import type { ComfyClient } from '@anime/comfyui-client';
import { createLogger } from '@anime/logger';
import { takePromptOff } from './take-prompt-off';

const log = createLogger('orchestrator', 'error');

/** A ComfyClient stand-in whose queue follows a script of [running, pending] looks, then stays on the last. */
function fakeClient(looks: [string[], string[]][]) {
  const calls: string[] = [];
  let look = 0;
  const client = {
    baseUrl: 'http://fake',
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
  it('when the prompt waits in the queue, then it is deleted once and confirmed once gone; the prompt beside it is untouched', async () => {
    const { client, calls } = fakeClient([[['other'], ['p']], [['other'], ['p']], [['other'], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('confirmed');
    expect(calls).toEqual(['delete p']);
  });

  it('when the prompt starts running between two looks, then it is interrupted once after the delete missed it', async () => {
    const { client, calls } = fakeClient([[[], ['p']], [['p'], []], [['p'], []], [[], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('confirmed');
    expect(calls).toEqual(['delete p', 'interrupt p']);
  });

  it('when ComfyUI never lets go, then exactly one interrupt is sent and it gives up after the grace', async () => {
    const { client, calls } = fakeClient([[['p'], []]]);
    const started = Date.now();
    expect(await takePromptOff(client, 'p', { log, graceMs: 400 })).toBe('unconfirmed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(calls).toEqual(['interrupt p']);
  });

  it('when the prompt is already gone, then nothing is sent', async () => {
    const { client, calls } = fakeClient([[[], []]]);
    expect(await takePromptOff(client, 'p', { log })).toBe('confirmed');
    expect(calls).toEqual([]);
  });
});
