import { createServer } from 'node:net';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { NoCapableBackendError } from '@anime/pipeline';
import { createTestDatabase, startTcpProxy, waitFor, type TcpProxy, type TestDatabase } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { BackendPool } from '../src/domain/backend-pool';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

/** A URL where nothing ever answers: a port of this suite's range, checked free (nothing listens there). */
async function deadUrl(port: number): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const DEAD_PORT = 42617;

/**
 * CONTRACT "Checkpoint choice": a job no backend can run fails with no_capable_backend. One COMFYUI_URLS
 * entry that never answers leaves its models unknown; the job is not kept waiting for it until
 * JOB_TIMEOUT_S once the backends that answer cannot run it, and the error names the one not asked.
 */
describe('routing with one configured backend that never answers (orchestrator in-process, two simulators, a closed port)', () => {
  let fx: OrchestratorFixture;
  let dead: string;

  beforeAll(async () => {
    dead = await deadUrl(DEAD_PORT);
    // A grace of 1 s (BACKEND_UNREACHABLE_GRACE_S): the dead URL is given up on by the time a job comes.
    fx = await startOrchestratorFixture('unreachable-routing', {
      simulators: [{ stepMs: 5, checkpoints: ['alpha.safetensors'], loras: ['alpha-style.safetensors'] }, { stepMs: 5, checkpoints: ['beta.safetensors'] }],
      unreachableUrls: [dead],
      env: { BACKEND_UNREACHABLE_GRACE_S: '1' },
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  const settled = (id: string) =>
    waitFor(async () => {
      const g = await fx.db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, `generation ${id} to render or fail`, 30_000);
  const received = (id: string) => fx.simulators.reduce((n, sim) => n + sim.received.filter((p) => JSON.stringify(p).includes(id)).length, 0);

  it('when a job needs a LoRA neither answering backend has, then it fails within seconds with no_capable_backend naming the LoRA and the backend it could not ask, and nothing is submitted', async () => {
    const started = Date.now();
    const id = await fx.resolvedGeneration({}, { loras: [{ name: 'nobody-has-this.safetensors', weight: 1 }] });
    const failed = await settled(id);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(failed).toMatchObject({ status: 'failed', stage: 'resolved', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('LoRA "nobody-has-this.safetensors"');
    expect(failed.errorMessage).toContain(`could not ask ${dead} (unreachable, its models unknown`);
    expect(failed.errorDetails).toMatchObject({
      missing: ['LoRA "nobody-has-this.safetensors"'],
      backends: expect.arrayContaining([expect.objectContaining({ url: fx.simulators[0].url }), expect.objectContaining({ url: fx.simulators[1].url })]),
      unreachable: [{ url: dead, error: expect.any(String) }],
    });
    expect(received(id)).toBe(0);
  });

  it('when a template needs a node class neither answering backend has, then it fails with no_capable_backend naming the class and the unreachable backend', async () => {
    const graph = {
      '1': { class_type: 'NobodyHasThisNode', inputs: { width: 64, height: 64 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'nobody' } },
    };
    await registerWorkflow(fx.db, { slug: 'nobody-node', graph, params: {} });
    const failed = await settled(await fx.resolvedGeneration({}, { workflow: { slug: 'nobody-node', version: 1, params: {} } }));
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend' });
    expect(failed.errorMessage).toContain('node class "NobodyHasThisNode"');
    expect(failed.errorDetails).toMatchObject({ unreachable: [{ url: dead }] });
  });

  it('when a job one answering backend can run comes, then it renders there, the dead backend notwithstanding', async () => {
    const row = await settled(await fx.resolvedGeneration({}, { checkpoint: 'beta.safetensors' }));
    expect(row).toMatchObject({ stage: 'rendered', backend: fx.simulators[1].url });
  });
});

describe('BackendPool: a job waiting while no backend answers (pool in-process, a simulator behind a proxy, a closed port)', () => {
  let database: TestDatabase;
  let db: Db;
  let simulator: Simulator;
  let proxy: TcpProxy;
  let pool: BackendPool;
  let dead: string;

  beforeAll(async () => {
    dead = await deadUrl(DEAD_PORT + 1);
    database = await createTestDatabase('unreachable-pool');
    db = createDb(database.url, { max: 3 });
    simulator = await startSimulator({ stepMs: 1, checkpoints: ['a.safetensors'], loras: [] });
    proxy = await startTcpProxy({ host: '127.0.0.1', port: simulator.port });
    await proxy.refuse();
    pool = new BackendPool({ urls: [proxy.urlFor(simulator.url), dead], db, log: createLogger('orchestrator', 'error'), probeEveryMs: 200, capabilitiesRecheckMs: 200, unreachableGraceMs: 1_000 });
    await pool.start();
  });

  afterAll(async () => {
    await pool?.close();
    await proxy?.close();
    await simulator?.close();
    await db?.$disconnect();
    await database?.drop();
  });

  it('when every backend is down at start, then the job waits (ComfyUI may be slower to start); once one answers without the LoRA, then it fails promptly naming the LoRA and the dead backend', async () => {
    const acquired = pool.acquire({ loras: ['nobody.safetensors'], nodeClasses: [] }, { deadlineAt: Date.now() + 60_000, limitS: 60 });
    const outcome = acquired.then(
      () => 'leased',
      (error: unknown) => error,
    );
    let settledEarly = false;
    void outcome.then(() => (settledEarly = true));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(settledEarly).toBe(false);
    const back = Date.now();
    await proxy.accept();
    const error = await outcome;
    expect(Date.now() - back).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(NoCapableBackendError);
    expect((error as Error).message).toMatch(/no backend with known models has LoRA "nobody.safetensors" .*could not ask http:\/\/127\.0\.0\.1:42618 \(unreachable, its models unknown/);
    expect((error as NoCapableBackendError).details).toMatchObject({ missing: ['LoRA "nobody.safetensors"'], unreachable: [{ url: dead }] });
  });
});

/**
 * BACKEND_UNREACHABLE_GRACE_S: a backend whose models are unknown is given up on only once it has not
 * answered for the grace (since the orchestrator started, here). A dead URL then fails the jobs only it
 * might have run, after the grace, not at once nor at JOB_TIMEOUT_S; a ComfyUI that begins to listen
 * within the grace (a first start importing many custom nodes) is waited for and runs them.
 */
describe('routing while a backend whose models are unknown has not answered for less than its grace (orchestrator in-process, simulators, a closed port)', () => {
  const GRACE_S = 6;
  const rowOf = (fx: OrchestratorFixture, id: string) => fx.db.generationJob.findUniqueOrThrow({ where: { id } });
  const settledIn = (fx: OrchestratorFixture, id: string, ms: number) =>
    waitFor(async () => {
      const g = await rowOf(fx, id);
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, `generation ${id} to render or fail`, ms);

  describe('a dead URL and two simulators that answer', () => {
    let fx: OrchestratorFixture;
    let dead: string;
    let startedAt: number;

    beforeAll(async () => {
      dead = await deadUrl(42410);
      // The dead URL's first probe starts after this: it has not answered since then.
      startedAt = Date.now();
      fx = await startOrchestratorFixture('unreachable-grace', {
        simulators: [{ stepMs: 5, checkpoints: ['alpha.safetensors'], loras: ['alpha-style.safetensors'] }, { stepMs: 5, checkpoints: ['beta.safetensors'] }],
        unreachableUrls: [dead],
        env: { BACKEND_UNREACHABLE_GRACE_S: String(GRACE_S) },
      });
    });

    afterAll(async () => {
      await fx?.close();
    });

    it('when a job needs a LoRA neither answering backend has, then it waits out the grace, then fails with no_capable_backend naming the dead backend (not at once, not at JOB_TIMEOUT_S)', async () => {
      const id = await fx.resolvedGeneration({}, { loras: [{ name: 'nobody-has-this.safetensors', weight: 1 }] });
      const created = Date.now();
      // Still waiting a moment after it came (the grace runs out no sooner than GRACE_S after the start).
      const stillWaitingBy = startedAt + GRACE_S * 1000 - 2_000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, stillWaitingBy - Date.now())));
      if (Date.now() < stillWaitingBy + 1_000) expect(await rowOf(fx, id)).toMatchObject({ status: expect.not.stringMatching(/failed/) });
      const failed = await settledIn(fx, id, 30_000);
      const failedAt = Date.now();
      expect(failedAt - startedAt).toBeGreaterThanOrEqual(GRACE_S * 1000);
      expect(failedAt - created).toBeLessThan(GRACE_S * 1000 + 8_000);
      expect(failed).toMatchObject({ status: 'failed', stage: 'resolved', errorCode: 'no_capable_backend' });
      expect(failed.errorMessage).toContain('LoRA "nobody-has-this.safetensors"');
      expect(failed.errorMessage).toContain(`could not ask ${dead} (unreachable, its models unknown`);
      expect(failed.errorDetails).toMatchObject({ missing: ['LoRA "nobody-has-this.safetensors"'], unreachable: [{ url: dead, error: expect.any(String) }] });
      expect(fx.simulators.reduce((n, sim) => n + sim.received.filter((p) => JSON.stringify(p).includes(id)).length, 0)).toBe(0);
    });

    it('when a job comes after the grace ran out, then it fails within seconds, as before', async () => {
      const started = Date.now();
      const failed = await settledIn(fx, await fx.resolvedGeneration({}, { loras: [{ name: 'nobody-has-this.safetensors', weight: 1 }] }), 30_000);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(failed).toMatchObject({ status: 'failed', errorCode: 'no_capable_backend', errorDetails: expect.objectContaining({ unreachable: [expect.objectContaining({ url: dead })] }) });
    });
  });

  describe('a simulator without the LoRA, and one that begins to listen a few seconds late with it', () => {
    const LATE_PORT = 42411;
    let fx: OrchestratorFixture;
    let late: Simulator | undefined;
    let lateUrl: string;

    beforeAll(async () => {
      lateUrl = await deadUrl(LATE_PORT);
      fx = await startOrchestratorFixture('unreachable-late', {
        simulators: [{ stepMs: 5, checkpoints: ['alpha.safetensors'], loras: [] }],
        unreachableUrls: [lateUrl],
        env: { BACKEND_UNREACHABLE_GRACE_S: '30' },
      });
    });

    afterAll(async () => {
      await fx?.close();
      await late?.close();
    });

    it('when a job needs the LoRA only the late one has, then it waits for it and renders there once it answers', async () => {
      const id = await fx.resolvedGeneration({}, { loras: [{ name: 'late-style.safetensors', weight: 1 }] });
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(await rowOf(fx, id)).toMatchObject({ status: expect.not.stringMatching(/failed/), stage: 'resolved' });
      late = await startSimulator({ port: LATE_PORT, stepMs: 5, checkpoints: ['late.safetensors'], loras: ['late-style.safetensors'] });
      expect(late.url).toBe(lateUrl);
      const row = await settledIn(fx, id, 30_000);
      expect(row).toMatchObject({ stage: 'rendered', backend: lateUrl });
      expect(fx.simulators[0].received.filter((p) => JSON.stringify(p).includes(id))).toEqual([]);
    });
  });
});
