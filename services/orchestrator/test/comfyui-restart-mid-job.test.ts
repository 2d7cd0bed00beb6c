import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/**
 * A real ComfyUI restarted while it runs a prompt (a crash under a supervisor, an operator's restart):
 * its WebSocket closes, and the server that answers on the same port a moment later has an empty
 * queue and history (both are in memory: comfyui-protocol.md §1). Quick enough, the pool's health
 * probe never sees it down.
 */
describe('ComfyUI restarting under a running prompt', () => {
  let fx: OrchestratorFixture;
  let db: Db;
  let folders: string;
  // The server started on the old one's port: not the fixture's own, so fx.close() leaves it running.
  let restarted: Simulator | undefined;

  beforeAll(async () => {
    folders = await mkdtemp(path.join(tmpdir(), 'restart-mid-job-'));
    const dirs = { outputDir: path.join(folders, 'output'), inputDir: path.join(folders, 'input'), tempDir: path.join(folders, 'temp') };
    fx = await startOrchestratorFixture('restart-mid-job', { simulators: [{ stepMs: 100, ...dirs }], env: { JOB_MAX_ATTEMPTS: '3' } });
    ({ db } = fx);
  });

  afterAll(async () => {
    await fx?.close();
    await restarted?.close();
    await rm(folders, { recursive: true, force: true });
  });

  const generation = (id: string) => db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: 'asc' } } } });

  it('when ComfyUI restarts on the same port while the prompt runs, then the prompt is sent again and the generation renders', async () => {
    const [before] = fx.simulators;
    const id = await fx.resolvedGeneration({ steps: 150 });
    await waitFor(async () => (await generation(id)).startedAt, 'the prompt to start');
    const { outputDir, inputDir, tempDir, port } = before;

    await before.close();
    const after: Simulator = await startSimulator({ port, outputDir, inputDir, tempDir, stepMs: 1 });
    restarted = after;
    fx.simulators[0] = after;

    const row = await waitFor(async () => {
      const g = await generation(id);
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, 'the generation to render or fail', 40_000, 100);
    expect({ status: row.status, stage: row.stage, errorCode: row.errorCode }).toEqual({ status: 'running', stage: 'rendered', errorCode: null });
    // The closed socket had the backend probed at once, and found down: the attempt ended without spending a try.
    expect(row.attempts.map((a) => [a.number, (a.error as { code?: string } | null)?.code ?? null])).toEqual([
      [1, 'backend_lost'],
      [2, null],
    ]);
    // The restarted server, which knew nothing of the first prompt, ran the second attempt's.
    expect(after.received.map((p) => p.promptId)).toEqual([row.attempts[1].promptId]);
  }, 60_000);
});
