import type { Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * A backend answering what no ComfyUI does (the simulator misbehaving): the generation fails once,
 * at once, saying what the backend did wrong, and the prompt is not sent again and again.
 */
describe('render stage on a broken or hostile ComfyUI (orchestrator in-process, simulator misbehaving)', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let simulator: Simulator;

  beforeAll(async () => {
    // Tries to spare: a fault taken for transient would send the prompt again.
    fx = await startOrchestratorFixture('hostile-backend', { simulators: [{ stepMs: 2 }], env: { JOB_MAX_ATTEMPTS: '3' } });
    ({ db } = fx);
    [simulator] = fx.simulators;
  });

  afterEach(() => simulator.misbehave(undefined));

  afterAll(async () => {
    await fx?.close();
  });

  const failed = (id: string) =>
    waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
      return g.status === 'failed' || g.status === 'completed' ? g : null;
    }, 'the generation to end', 30_000);
  const promptsOf = (id: string, attempts: { promptId: string }[]) => simulator.received.filter((r) => attempts.some((a) => a.promptId === r.promptId) || r.promptId.includes(id)).length;

  it("when /history answers 200 with a page that is not JSON, then the generation fails naming it, and the prompt was sent once", async () => {
    simulator.misbehave({ kind: 'not_json', path: '/history/' });
    const id = await fx.resolvedGeneration({ seed: 11 });
    const row = await failed(id);
    expect(row).toMatchObject({ status: 'failed', stage: 'submitted', errorCode: 'comfyui_unreachable' });
    expect(row.errorMessage).toMatch(/answered GET \/history\/\S+ with a body that is not JSON/);
    expect(row.attempts).toHaveLength(1);
    expect(promptsOf(id, row.attempts)).toBe(1);
  });

  it('when history names an output with a NUL character, then the generation fails naming the output, not an internal database error', async () => {
    simulator.misbehave({ kind: 'history_images', rewrite: (images) => images.map((image) => ({ ...image, filename: `${image.filename}\u0000` })) });
    const id = await fx.resolvedGeneration({ seed: 12 });
    const row = await failed(id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_unreachable' });
    expect(row.errorMessage).toMatch(/lists an output of node \S+ that names no file it could serve/);
    expect(promptsOf(id, row.attempts)).toBe(1);
  });

  it('when history reports success with no output file, then the generation fails saying so instead of completing with no image', async () => {
    simulator.misbehave({ kind: 'history_images', rewrite: () => [] });
    const id = await fx.resolvedGeneration({ seed: 13 });
    const row = await failed(id);
    expect(row).toMatchObject({ status: 'failed', stage: 'submitted', errorCode: 'comfyui_execution' });
    expect(row.errorMessage).toMatch(/finished, but its history lists no output file/);
    expect(promptsOf(id, row.attempts)).toBe(1);
  });

  it('when history lists thousands of output files, then the generation fails saying how many, and nothing is recorded to file', async () => {
    simulator.misbehave({ kind: 'history_images', rewrite: (images) => Array.from({ length: 3_000 }, (_, i) => ({ ...images[0], filename: `many_${i}.png` })) });
    const id = await fx.resolvedGeneration({ seed: 15 });
    const row = await failed(id);
    expect(row).toMatchObject({ status: 'failed', stage: 'submitted', errorCode: 'comfyui_execution', outputs: null });
    expect(row.errorMessage).toMatch(/lists 3000 output files; a generation files at most 1000/);
  });

  it('when history lists its image three times, then it renders once with one output', async () => {
    simulator.misbehave({ kind: 'history_images', rewrite: (images) => [...images, ...images, ...images] });
    const id = await fx.resolvedGeneration({ seed: 14 });
    const row = await waitFor(async () => {
      const g = await db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.stage === 'rendered' ? g : null;
    }, 'the render');
    expect((row.outputs as { items: unknown[] }).items).toHaveLength(1);
  });
});
