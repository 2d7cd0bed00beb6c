import { startSimulator, type Simulator } from '../src';
import { emptyImageProbe } from '../src/sample-workflows';
import { waitForHistory } from './helpers/http';

/**
 * The simulator records what it was sent (GET /sim/prompts, /sim/uploads, /sim/controls): left
 * running (pnpm start, a soak), those records keep only the newest entries, as ComfyUI keeps only
 * its newest 10,000 history items, rather than growing with every prompt ever sent.
 */
describe('the simulator records of a long run', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1, maxRecorded: 3 });
  });

  afterAll(async () => {
    await sim.close();
  });

  it('when more prompts, uploads and controls come than it records, then it keeps the newest, in order, and still answers as before', async () => {
    const promptIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`${sim.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: emptyImageProbe(`bounded-${i}`, i) }) });
      promptIds.push(((await answer.json()) as { prompt_id: string }).prompt_id);
      const form = new FormData();
      form.append('image', new Blob([Buffer.from(`image ${i}`)]), `upload-${i}.png`);
      expect((await fetch(`${sim.url}/upload/image`, { method: 'POST', body: form })).status).toBe(200);
      expect((await fetch(`${sim.url}/queue`, { method: 'POST', body: JSON.stringify({ delete: [`nothing-${i}`] }) })).status).toBe(200);
    }
    await waitForHistory(sim.url, promptIds[4]);

    expect(sim.received.map((r) => r.promptId)).toEqual(promptIds.slice(2));
    expect(sim.uploads.map((u) => u.name)).toEqual(['upload-2.png', 'upload-3.png', 'upload-4.png']);
    expect(sim.controls.map((c) => c.body)).toEqual([{ delete: ['nothing-2'] }, { delete: ['nothing-3'] }, { delete: ['nothing-4'] }]);
    const listed = (await (await fetch(`${sim.url}/sim/prompts`)).json()) as { prompts: { promptId: string }[] };
    expect(listed.prompts.map((p) => p.promptId)).toEqual(promptIds.slice(2));
    // The history is ComfyUI's own (bounded at 10,000), not this record: every prompt is still there.
    for (const promptId of promptIds) expect(Object.keys((await (await fetch(`${sim.url}/history/${promptId}`)).json()) as object)).toEqual([promptId]);
  });
});
