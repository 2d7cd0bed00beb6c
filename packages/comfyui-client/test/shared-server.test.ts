import { randomUUID } from 'node:crypto';
import { startSimulator, textToImage, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, type ComfyMessage } from '../src';

/**
 * Two clients (two orchestrator processes, say) on one ComfyUI: each prompt's events go to the
 * socket of the client_id it was posted with, status broadcasts to both, one prompt runs at a time.
 */
describe('two ComfyClients sharing one ComfyUI', () => {
  let sim: Simulator;
  let a: ComfyClient;
  let b: ComfyClient;

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5 });
    a = new ComfyClient({ baseUrl: sim.url });
    b = new ComfyClient({ baseUrl: sim.url });
    await Promise.all([a.connect(), b.connect()]);
  });

  afterAll(async () => {
    a.close();
    b.close();
    await sim.close();
  });

  it("when both run prompts at once, then each gets its own prompt's events, progress and files, and only status of the other's", async () => {
    const heard = { a: [] as ComfyMessage[], b: [] as ComfyMessage[] };
    const offA = a.onMessage((m) => heard.a.push(m));
    const offB = b.onMessage((m) => heard.b.push(m));
    const [idA, idB] = [randomUUID(), randomUUID()];
    const ticks = { a: [] as number[], b: [] as number[] };
    const [ranA, ranB] = await Promise.all([
      a.run(textToImage({ seed: 1, steps: 4, prefix: 'jobs/a/img' }), { promptId: idA, onProgress: (p) => void ticks.a.push(p.value) }),
      b.run(textToImage({ seed: 2, steps: 6, prefix: 'jobs/b/img' }), { promptId: idB, onProgress: (p) => void ticks.b.push(p.value) }),
    ]);
    offA();
    offB();

    expect(ranA.outputs.map((o) => o.subfolder)).toEqual(['jobs/a']);
    expect(ranB.outputs.map((o) => o.subfolder)).toEqual(['jobs/b']);
    expect(ticks).toEqual({ a: [1, 2, 3, 4], b: [1, 2, 3, 4, 5, 6] });
    const promptsHeard = (messages: ComfyMessage[]) => new Set(messages.filter((m) => m.type !== 'status').map((m) => m.data.prompt_id));
    expect(promptsHeard(heard.a)).toEqual(new Set([idA]));
    expect(promptsHeard(heard.b)).toEqual(new Set([idB]));
    expect(heard.a.some((m) => m.type === 'status')).toBe(true);
    expect(heard.b.some((m) => m.type === 'status')).toBe(true);
  });

  it("when one client interrupts its own running prompt by id, then the other's queued prompt still runs to the end", async () => {
    const idA = randomUUID();
    const running = a.run(textToImage({ seed: 3, steps: 2000 }), { promptId: idA, onStarted: () => void a.interrupt(idA) });
    const queued = b.run(textToImage({ seed: 4, steps: 2 }));
    await expect(running).rejects.toMatchObject({ name: 'ComfyInterruptedError' });
    expect((await queued).history.status?.status_str).toBe('success');
  });

  it("when one client aborts its prompt still waiting behind the other's, then it is only deleted from the queue: no /interrupt, which a server before 2025-09 applies to whatever runs", async () => {
    const [idA, idB] = [randomUUID(), randomUUID()];
    const running = a.run(textToImage({ seed: 5, steps: 2000 }), { promptId: idA });
    await new Promise<void>((resolve) => {
      const stop = a.onMessage((m) => m.type === 'progress' && m.data.prompt_id === idA && (stop(), resolve()));
    });
    const controller = new AbortController();
    const waiting = b.run(textToImage({ seed: 6, steps: 2 }), { promptId: idB, signal: controller.signal, onAccepted: () => controller.abort(new Error('job cancelled')) });
    await expect(waiting).rejects.toThrow('job cancelled');
    const controlsOf = (id: string) => sim.controls.filter((c) => c.body.prompt_id === id || (Array.isArray(c.body.delete) && c.body.delete.includes(id)));
    for (let i = 0; i < 200 && controlsOf(idB).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // The take-off asks /queue once the delete is answered; an /interrupt would follow at once
    // (two local round trips): a second leaves a loaded machine room to send it.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(controlsOf(idB).map((c) => c.path)).toEqual(['/queue']);
    expect((await a.queue()).running.map((item) => item.promptId)).toEqual([idA]);
    await a.interrupt(idA);
    await expect(running).rejects.toMatchObject({ name: 'ComfyInterruptedError' });
  });
});
