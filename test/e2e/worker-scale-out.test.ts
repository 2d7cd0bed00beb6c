import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { JOB_EVENT_NAMES, TERMINAL_STATUSES } from '@anime/contracts';
import { startSimulatorProcess, type SimulatorProcess } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { libraryFiles } from './library-files';
import { startStackFixture, type StackFixture } from './stack-fixture';

const JOBS = 100;

interface SimPrompt { promptId: string; clientId?: string; prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> }

/** The job number a prompt was sent for, from its positive prompt text ("scale-out #<n> ..."). */
function jobNumberOf(prompt: SimPrompt): number | null {
  for (const node of Object.values(prompt.prompt)) {
    const text = node.inputs?.text;
    const match = typeof text === 'string' ? /scale-out #(\d+) /.exec(text) : null;
    if (match) return Number(match[1]);
  }
  return null;
}

/**
 * Issue 16's scale-out of the workers: two orchestrators and two file-organizers (each its own
 * process with its own ops port) over two simulated ComfyUI backends and 100 jobs. Each job
 * completes once; each prompt reaches ComfyUI once; each output is filed once; events keep seq order.
 */
describe('two orchestrators and two file-organizers over 100 jobs', () => {
  let fx: StackFixture;
  let simulators: SimulatorProcess[];

  beforeAll(async () => {
    simulators = [await startSimulatorProcess({ stepMs: 5 }, 'sim-a'), await startSimulatorProcess({ stepMs: 5 }, 'sim-b')];
    // The 100 POSTs go out back to back: this test is about exactly-once work across instances, so
    // the per-key request and cost limits (20/s plus a burst of 40 by default) are set out of its way.
    fx = await startStackFixture('worker-scale', {
      comfyUrls: simulators.map((s) => s.url),
      extraEnv: { RATE_LIMIT_RPS: '1000', RATE_LIMIT_COST_PER_MIN: '1000000000000000' },
    });
    await fx.stack.addInstance('orchestrator');
    await fx.stack.addInstance('file-organizer');
  }, 180_000);

  afterAll(async () => {
    await fx?.close();
    await Promise.all((simulators ?? []).map((s) => s.process.stop()));
  });

  it('when 100 jobs run, then each completes once, each prompt is sent once, each output is filed once, and each job’s events come in seq order', async () => {
    // Every instance is up and ready, each on its own ops port.
    const extra = fx.stack.extraInstances;
    expect(extra.map((i) => i.name).sort()).toEqual(['file-organizer', 'orchestrator']);
    for (const instance of extra) expect((await fetch(`${instance.url}/readyz`)).status).toBe(200);

    // One socket follows every job, live, as a dashboard would.
    const socket: Socket = connect(fx.stack.gatewayUrl, { transports: ['websocket'], forceNew: true, auth: { token: fx.apiKey } });
    const received = new Map<string, { name: string; seq: number }[]>();
    for (const name of JOB_EVENT_NAMES) {
      socket.on(name, (payload: { jobId: string; seq: number }) => {
        if (!received.has(payload.jobId)) received.set(payload.jobId, []);
        received.get(payload.jobId)!.push({ name, seq: payload.seq });
      });
    }
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });

    const t0 = Date.now();
    const ids: string[] = [];
    try {
      for (let n = 0; n < JOBS; n++) {
        const res = await fx.api.post('/api/v1/generations', {
          character: 'kai-nakamura', prompt: `scale-out #${n} on a rooftop`, count: n % 4 === 0 ? 2 : 1, seed: 5_000 + n, steps: 20, project: 'scale',
          scene: `sc${String(n).padStart(3, '0')}`,
        });
        expect(res.status).toBe(202);
        ids.push(res.data.id);
        const ack = await socket.timeout(10_000).emitWithAck('subscribe', { jobId: res.data.id });
        expect(ack).toEqual({ ok: true, status: expect.any(String) });
      }
      const jobs = await waitFor(async () => {
        const rows = await fx.db.generationJob.findMany({ where: { project: 'scale' } });
        return rows.length === JOBS && rows.every((r) => TERMINAL_STATUSES.includes(r.status)) ? rows : null;
      }, 'every job to end', 150_000, 500);
      const elapsed = Date.now() - t0;

      // Completed, once each.
      expect(jobs.filter((j) => j.status !== 'completed').map((j) => [j.id, j.status, j.errorCode, j.errorMessage])).toEqual([]);
      const completedEvents = await fx.db.jobEvent.groupBy({ by: ['jobId'], where: { type: 'job:completed' }, _count: { _all: true } });
      expect(completedEvents).toHaveLength(JOBS);
      expect(completedEvents.filter((e) => e._count._all !== 1)).toEqual([]);
      const attempts = await fx.db.jobAttempt.groupBy({ by: ['jobId'], _count: { _all: true } });
      expect(attempts.filter((a) => a._count._all !== 1)).toEqual([]);

      // Each prompt reached a ComfyUI once, whichever orchestrator sent it.
      const sent: { backend: number; n: number | null; promptId: string; clientId?: string }[] = [];
      for (const [backend, sim] of simulators.entries()) {
        const body = (await (await fetch(`${sim.url}/sim/prompts`)).json()) as { prompts: SimPrompt[] };
        for (const p of body.prompts) sent.push({ backend, n: jobNumberOf(p), promptId: p.promptId, clientId: p.clientId });
      }
      expect(sent.filter((s) => s.n === null)).toEqual([]);
      expect(sent.map((s) => s.n).sort((a, b) => a! - b!)).toEqual(Array.from({ length: JOBS }, (_, n) => n));
      expect(new Set(sent.map((s) => s.promptId)).size).toBe(JOBS);
      const byId = new Map(jobs.map((j) => [j.id, j]));
      expect(ids.map((id) => byId.get(id)!.promptId).sort()).toEqual(sent.map((s) => s.promptId).sort());
      const perBackend = [0, 1].map((b) => sent.filter((s) => s.backend === b).length);
      expect(Math.min(...perBackend)).toBeGreaterThan(0);

      // Each output filed once: one asset row per image, one file and sidecar each, no two alike.
      const assets = await fx.db.asset.findMany();
      const expectedImages = ids.reduce((sum, _id, n) => sum + (n % 4 === 0 ? 2 : 1), 0);
      expect(assets).toHaveLength(expectedImages);
      for (const [n, id] of ids.entries()) expect([n, assets.filter((a) => a.jobId === id).length]).toEqual([n, n % 4 === 0 ? 2 : 1]);
      expect(new Set(assets.map((a) => a.sha256)).size).toBe(assets.length);
      expect(new Set(assets.map((a) => a.path)).size).toBe(assets.length);
      const files = await libraryFiles(fx.libraryDir);
      expect(files.sort()).toEqual(assets.flatMap((a) => [a.path, `${a.path}.json`]).sort());
      for (const asset of assets) {
        const bytes = await readFile(path.join(fx.libraryDir, asset.path));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(asset.sha256);
      }

      // Events: stored with seq 1..n without gaps, and seen live by the socket in increasing seq, one terminal each.
      await waitFor(async () => (ids.every((id) => received.get(id)?.some((e) => e.name === 'job:completed')) ? true : null), 'every job:completed on the socket', 20_000, 200);
      for (const id of ids) {
        const stored = await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
        expect(stored[0].type).toBe('job:queued');
        const live = received.get(id)!;
        const seqs = live.map((e) => e.seq);
        expect([id, seqs]).toEqual([id, [...new Set(seqs)].sort((a, b) => a - b)]);
        expect([id, live.filter((e) => e.name === 'job:completed').length]).toEqual([id, 1]);
        expect(live.at(-1)!.name).toBe('job:completed');
      }

      // Both orchestrators and both file-organizers took part (else the test would prove nothing).
      // An orchestrator has one ComfyUI client id per backend: more than two ids means both sent prompts.
      const clients = new Map<string, number>();
      for (const s of sent) clients.set(`${s.backend}:${s.clientId}`, (clients.get(`${s.backend}:${s.clientId}`) ?? 0) + 1);
      expect(clients.size).toBeGreaterThan(2);
      const filed = (lines: string[]) => lines.filter((l) => l.includes('"filed outputs"')).length;
      const organizers = [fx.stack.services['file-organizer']!.output, extra.find((i) => i.name === 'file-organizer')!.process.output].map(filed);
      expect(organizers.every((count) => count > 0)).toBe(true);
      expect(organizers.reduce((a, b) => a + b, 0)).toBe(JOBS);
      console.log(`worker scale-out: ${JOBS} jobs (${expectedImages} images) in ${elapsed} ms; prompts per backend ${perBackend.join('/')}; prompts per (backend, orchestrator client) ${[...clients.values()].join('/')}; filings per file-organizer ${organizers.join('/')}`);
    } finally {
      socket.close();
    }
  }, 240_000);
});
