import { textToImage } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * What a real ComfyUI sends that a plain simulator run does not: a JPEG binary frame per sampler step
 * (--preview-method auto, comfyui-protocol.md §6.3), another client's prompt queued with no client_id
 * (its progress, progress_state and previews go to every socket: comfyui-protocol.md §6.2), and, for
 * a prompt whose sampler result is cached, no executing or progress for the cached nodes at all while
 * /history still lists the new output.
 */
describe('latent previews, foreign progress_state and a cached sampler', () => {
  let fx: OrchestratorFixture;
  let db: Db;

  beforeAll(async () => {
    fx = await startOrchestratorFixture('previews-and-cache', { simulators: [{ stepMs: 5, previewMethod: 'auto' }] });
    ({ db } = fx);
  });

  afterAll(async () => {
    await fx?.close();
  });

  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id } });
  const rendered = (id: string) =>
    waitFor(async () => {
      const g = await generation(id);
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, 'the generation to render or fail', 30_000);

  it('when its prompt sends previews while another client’s prompt runs on the same ComfyUI, then it renders with its own progress only', async () => {
    const [simulator] = fx.simulators;
    // Another client of the same server queues with no client_id: its progress, progress_state and
    // previews (format 1) reach the orchestrator's socket too, under a prompt_id it does not follow.
    const foreign = await fetch(`${simulator.url}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: textToImage({ steps: 40, seed: 999, prefix: 'foreign/img' }) }) });
    expect(foreign.status).toBe(200);

    const id = await fx.resolvedGeneration({ steps: 6, seed: 5 });
    const row = await rendered(id);
    expect({ status: row.status, stage: row.stage, errorCode: row.errorCode }).toEqual({ status: 'running', stage: 'rendered', errorCode: null });
    expect({ value: row.progressValue, max: row.progressMax }).toEqual({ value: 6, max: 6 });
    expect((row.outputs as { items: unknown[] }).items).toHaveLength(1);
  });

  it('when a second generation asks for the very same image, then ComfyUI reuses its cached sampler (no progress at all) and the generation still renders its own file', async () => {
    const first = await rendered(await fx.resolvedGeneration({ steps: 4, seed: 77 }));
    const id = await fx.resolvedGeneration({ steps: 4, seed: 77 });
    const row = await rendered(id);
    expect({ status: row.status, stage: row.stage, errorCode: row.errorCode }).toEqual({ status: 'running', stage: 'rendered', errorCode: null });
    const [item] = (row.outputs as { items: Array<{ filename: string; subfolder: string }> }).items;
    expect(item.subfolder).toBe(`jobs/${id}`);
    expect((first.outputs as { items: Array<{ subfolder: string }> }).items[0].subfolder).not.toBe(item.subfolder);
    // Only SaveImage ran: the sampler's result came from the cache, so no step was reported.
    const [simulator] = fx.simulators;
    const promptId = row.promptId!;
    const history = ((await (await fetch(`${simulator.url}/history/${promptId}`)).json()) as Record<string, any>)[promptId];
    const cached = history.status.messages.find(([type]: [string]) => type === 'execution_cached')[1].nodes;
    expect(cached).toEqual(expect.arrayContaining(['3', '8']));
    expect(row.progressValue).toBeNull();
  });
});
