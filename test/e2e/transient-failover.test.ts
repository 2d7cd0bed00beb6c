import axios from 'axios';
import { loadGeneration } from '@anime/pipeline';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { startPromptRefusingProxy } from './prompt-refusing-proxy';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

/** A transient fault on a backend that stays up: the retry goes to another capable backend. */
describe('render retries after a transient fault', () => {
  let fx: StackFixture;
  let simulators: SimulatorProcess[];
  let proxy: Awaited<ReturnType<typeof startPromptRefusingProxy>>;

  beforeAll(async () => {
    simulators = [await startSimulatorProcess({ stepMs: 20 }, 'sim-a'), await startSimulatorProcess({ stepMs: 20 }, 'sim-b')];
    // Listed first, so the first job is routed to it: up, with sim-a's models, but a 503 to every prompt.
    proxy = await startPromptRefusingProxy(simulators[0].url);
    fx = await startStackFixture('transient-failover', { comfyUrls: [proxy.url, simulators[1].url] });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
    await proxy?.close();
    await Promise.all((simulators ?? []).map((s) => s.process.stop()));
  });

  it('when a backend answers a prompt with 503, then the retry runs on the other capable backend as attempt 2, attempt 1 carrying the error', async () => {
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'a 503 first', steps: 2 });
    const done = await waitForGenerationEnd(fx, res.data.id, 30_000);
    expect(done).toMatchObject({ status: 'completed', backend: simulators[1].url });
    expect(done.attempts.map((a: { number: number; backend: string; error: { code: string } | null }) => [a.number, a.backend, a.error?.code ?? null])).toEqual([
      [1, proxy.url, 'backend_error'],
      [2, simulators[1].url, null],
    ]);
    const history = await axios.get(`${simulators[1].url}/history/${done.promptId}`);
    expect(history.data[done.promptId].status.status_str).toBe('success');
    expect(done.assets).toHaveLength(1);
    // Each attempt keeps the graph it sent; the one that rendered is what the generation shows.
    const attempts = await fx.db.jobAttempt.findMany({ where: { jobId: done.id }, orderBy: { number: 'asc' } });
    expect(attempts.every((a) => a.workflow !== null)).toBe(true);
    expect(attempts[1].workflow).toEqual((await loadGeneration(fx.db, done.id))!.workflow);
  });
});
