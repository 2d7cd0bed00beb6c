import { ComfyClient } from '@anime/comfyui-client';
import { startSimulator, textToImage } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { waitFor } from '@anime/testing';
import { AbandonedPrompts } from './abandoned-prompts';

describe('AbandonedPrompts (what one process remembers)', () => {
  // Remembering reads nothing: the database is only asked when a backend is swept.
  const remembered = () => new AbandonedPrompts(undefined as unknown as Db, createLogger('orchestrator', 'error'));

  it('when more prompts are abandoned than it keeps, then the oldest are forgotten, whichever backend held them', () => {
    const abandoned = remembered();
    abandoned.add('http://a', 'job-0', 'prompt-0');
    for (let i = 1; i <= 10_000; i++) abandoned.add('http://b', `job-${i}`, `prompt-${i}`);
    expect(abandoned.heldOn('http://a')).toBe(0);
    expect(abandoned.heldOn('http://b')).toBe(10_000);
  });

  it('when the same prompt is abandoned twice, then it is remembered once', () => {
    const abandoned = remembered();
    abandoned.add('http://a', 'job', 'prompt');
    abandoned.add('http://a', 'job', 'prompt');
    expect(abandoned.heldOn('http://a')).toBe(1);
  });

  /** A Db answering only the restore's statement (run through $queryRawUnsafe when not made by createDb), with these rows. */
  const dbWithLost = (rows: { backend: string; jobId: string; promptId: string; endedMsAgo: number }[]) => ({ $queryRawUnsafe: async () => rows }) as unknown as Db;

  it('when prompts earlier processes abandoned are restored, then they are taken off the backend without asking whether their attempts are over', async () => {
    const abandoned = new AbandonedPrompts(
      dbWithLost([
        { backend: 'http://a', jobId: 'job-1', promptId: 'running', endedMsAgo: 1_000 },
        { backend: 'http://a', jobId: 'job-2', promptId: 'waiting', endedMsAgo: 2_000 },
      ]),
      createLogger('orchestrator', 'error'),
    );
    expect(await abandoned.restore(['http://a'])).toBe(2);
    const interrupt = jest.fn(async () => undefined);
    const deleteFromQueue = jest.fn(async () => undefined);
    const client = { queue: async () => ({ running: [{ promptId: 'running' }], pending: [{ promptId: 'waiting' }, { promptId: 'another' }] }), interrupt, deleteFromQueue } as unknown as ComfyClient;
    await abandoned.sweep('http://a', client);
    expect(interrupt).toHaveBeenCalledWith('running');
    expect(deleteFromQueue).toHaveBeenCalledWith(['waiting']);
  });

  it('when an abandoned prompt it interrupted goes on running past the grace, then the backend is reported stuck on it, once', async () => {
    const ignored: [string, string][] = [];
    const abandoned = new AbandonedPrompts(dbWithLost([{ backend: 'http://a', jobId: 'job-1', promptId: 'hung', endedMsAgo: 1_000 }]), createLogger('orchestrator', 'error'), {
      graceMs: 200,
      onIgnored: (url, promptId) => ignored.push([url, promptId]),
    });
    await abandoned.restore(['http://a']);
    const interrupt = jest.fn(async () => undefined);
    // A node that does not return: the prompt stays running whatever is asked.
    const client = { queue: async () => ({ running: [{ promptId: 'hung' }], pending: [] }), interrupt, deleteFromQueue: jest.fn(async () => undefined) } as unknown as ComfyClient;
    await abandoned.sweep('http://a', client);
    await abandoned.sweep('http://a', client);
    // Within the grace: a prompt may take a moment to honour its interrupt.
    expect(ignored).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await abandoned.sweep('http://a', client);
    await abandoned.sweep('http://a', client);
    expect(ignored).toEqual([['http://a', 'hung']]);
    expect(interrupt).toHaveBeenCalledTimes(1);
  });

  it('when the backend is back but its /queue is too large to read (a busy server), then the prompts are deleted from its queue, none is interrupted, and they are forgotten', async () => {
    const sim = await startSimulator({ stepMs: 5 });
    const client = new ComfyClient({ baseUrl: sim.url });
    try {
      await client.submit(textToImage({ steps: 2000, seed: 1 }), { promptId: 'running' });
      await client.submit(textToImage({ steps: 2, seed: 2 }), { promptId: 'waiting' });
      await waitFor(async () => (await client.queue()).running.some((item) => item.promptId === 'running'), 'the first prompt to run');
      const abandoned = new AbandonedPrompts(
        dbWithLost([
          { backend: sim.url, jobId: 'job-1', promptId: 'running', endedMsAgo: 1_000 },
          { backend: sim.url, jobId: 'job-2', promptId: 'waiting', endedMsAgo: 2_000 },
        ]),
        createLogger('orchestrator', 'error'),
      );
      expect(await abandoned.restore([sim.url])).toBe(2);
      sim.misbehave({ kind: 'oversized', path: '/queue', bytes: 100 * 1024 * 1024, declared: true });
      await abandoned.sweep(sim.url, client);
      sim.misbehave(undefined);
      // Restored oldest first.
      expect(sim.controls.map((c) => [c.path, c.body])).toEqual([['/queue', { delete: ['waiting', 'running'] }]]);
      expect(abandoned.heldOn(sim.url)).toBe(0);
      expect((await client.queue()).pending).toEqual([]);
      await client.interrupt();
    } finally {
      client.close();
      await sim.close();
    }
  });

  it('when restored prompts and those this process abandoned exceed what it keeps, then the oldest are forgotten first, the restored ones kept oldest first ahead of those abandoned meanwhile', async () => {
    // Newest first, as the query returns them: one on b, then 9,999 older ones on a.
    const rows = [{ backend: 'http://b', jobId: 'job-b', promptId: 'b', endedMsAgo: 5_000 }, ...Array.from({ length: 9_999 }, (_, i) => ({ backend: 'http://a', jobId: `job-${i}`, promptId: `a-${i}`, endedMsAgo: 10_000 + i }))];
    const abandoned = new AbandonedPrompts(dbWithLost(rows), createLogger('orchestrator', 'error'));
    // Abandoned by this process while the restore read: the newest of all.
    abandoned.add('http://a', 'job-now', 'now');
    await abandoned.restore(['http://a', 'http://b']);
    // One too many: the oldest restored on a goes, not b's (a's first entry is its oldest, not the one added meanwhile).
    expect(abandoned.heldOn('http://a')).toBe(9_999);
    expect(abandoned.heldOn('http://b')).toBe(1);
  });
});
