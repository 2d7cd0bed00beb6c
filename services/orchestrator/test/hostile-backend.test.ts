import type { Simulator } from '@anime/comfyui-simulator';
import type { Db } from '@anime/db';
import { JOB_ERROR_DETAILS_MAX_CHARS, JOB_ERROR_MESSAGE_MAX_CHARS, loadGeneration } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { listenToJobEvents } from './job-events-listener';
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

  // PostgreSQL refuses NUL (text and jsonb) and lone surrogates (jsonb): stored as they came, the
  // failure could not be recorded and the generation stayed running, followed again and again.
  const failureRecord = async (id: string) => {
    const row = await failed(id);
    const events = await db.jobEvent.findMany({ where: { jobId: id, type: 'job:failed' } });
    return { row, events, stored: JSON.stringify([row.errorMessage, row.errorDetails, row.attempts.map((a) => a.error), events.map((e) => e.payload)]) };
  };

  it('when an execution_error message holds NUL characters and lone surrogates, then the generation fails with comfyui_execution and ComfyUI\'s words, each unstorable character as U+FFFD', async () => {
    simulator.failNext('execution_error', 'CUDA error: \u0000device-side assert \uD800triggered', 'RuntimeError\u0000');
    const id = await fx.resolvedGeneration({ seed: 16 });
    const { row, events, stored } = await failureRecord(id);
    expect(row).toMatchObject({ status: 'failed', stage: 'submitted', errorCode: 'comfyui_execution', errorMessage: 'CUDA error: \uFFFDdevice-side assert \uFFFDtriggered' });
    expect(row.errorDetails).toMatchObject({ exception_message: 'CUDA error: \uFFFDdevice-side assert \uFFFDtriggered\n', exception_type: 'RuntimeError\uFFFD', node_type: 'KSampler' });
    expect((row.errorDetails as { traceback: string[] }).traceback.length).toBeGreaterThan(0);
    expect(row.attempts).toHaveLength(1);
    expect(row.attempts[0].error).toMatchObject({ code: 'comfyui_execution', message: row.errorMessage });
    expect(events).toHaveLength(1);
    expect(events[0].payload).toMatchObject({ jobId: id, error: { code: 'comfyui_execution', message: row.errorMessage } });
    expect(stored).not.toMatch(/\\u0000|\\ud800/i);
    expect(promptsOf(id, row.attempts)).toBe(1);
  });

  it('when an execution_error message is megabytes long, then the stored message and details are bounded, marked as cut, and keep the traceback', async () => {
    simulator.failNext('execution_error', `Error while deserializing header: ${'A'.repeat(3_000_000)}`);
    const id = await fx.resolvedGeneration({ seed: 17 });
    const { row, stored } = await failureRecord(id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_execution' });
    expect(row.errorMessage).toMatch(/^Error while deserializing header: A+… \[truncated: \d+ more characters\]$/);
    expect(row.errorMessage!.length).toBeLessThanOrEqual(JOB_ERROR_MESSAGE_MAX_CHARS + 100);
    const details = row.errorDetails as { exception_message: string; traceback: string[]; node_type: string };
    expect(details.exception_message).toMatch(/^Error while deserializing header: A+… \[truncated: \d+ more characters\]$/);
    expect(details.traceback.join('')).toContain('File "/opt/ComfyUI/execution.py"');
    expect(JSON.stringify(row.errorDetails).length).toBeLessThanOrEqual(JOB_ERROR_DETAILS_MAX_CHARS + 200);
    // The generation's message and details, the attempt's error and the event: all of it bounded.
    expect(stored.length).toBeLessThan(4 * (JOB_ERROR_MESSAGE_MAX_CHARS + JOB_ERROR_DETAILS_MAX_CHARS));
  });

  it('when the answer to POST /prompt is lost (a proxy\'s 502 after ComfyUI queued the prompt), then the retry follows that prompt, and its job:submitted is published and kept', async () => {
    const { published, close } = await listenToJobEvents(fx.service.ctx.queuePrefix);
    try {
      simulator.misbehave({ kind: 'answer_lost', status: 502, body: { error: 'Bad Gateway' } });
      const id = await fx.resolvedGeneration({ seed: 20 });
      const [attempt] = await waitFor(async () => {
        const recorded = await db.jobAttempt.findMany({ where: { jobId: id } });
        return recorded.length ? recorded : null;
      }, 'the attempt to be recorded');
      await waitFor(() => simulator.received.some((p) => p.promptId === attempt.promptId), 'the prompt queued by the backend');
      simulator.misbehave(undefined);
      const row = await waitFor(async () => {
        const g = await db.generationJob.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
        return g.stage === 'rendered' || g.status === 'failed' ? g : null;
      }, 'the generation to be rendered', 30_000);
      expect(row).toMatchObject({ status: 'running', stage: 'rendered' });
      expect(row.attempts).toHaveLength(1);
      expect(promptsOf(id, row.attempts)).toBe(1);
      const story = await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
      expect(story.map((e) => e.type)).toEqual(['job:queued', 'job:submitted', 'job:started']);
      await waitFor(() => published.some((e) => e.jobId === id && e.name === 'job:started'), 'job:started published');
      expect(published.filter((e) => e.jobId === id && e.name !== 'job:progress').map((e) => e.name)).toEqual(['job:submitted', 'job:started']);
    } finally {
      close();
    }
  });

  it('when /prompt answers 400 with node errors holding NUL characters and lone surrogates, then the generation fails with comfyui_validation naming the node, its class and ComfyUI\'s message', async () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
      node_errors: { '4': { class_type: 'CheckpointLoader\u0000Simple', errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'x\uDC00' not in (list of length 2)", extra_info: {} }], dependent_outputs: ['9'] } },
    };
    simulator.misbehave({ kind: 'post_answer', status: 400, body });
    const id = await fx.resolvedGeneration({ seed: 18 });
    const { row, stored } = await failureRecord(id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_validation', errorMessage: "node 4 (CheckpointLoader\uFFFDSimple): Value not in list: ckpt_name: 'x\uFFFD' not in (list of length 2)" });
    expect(row.errorDetails).toEqual({
      error: body.error,
      node_errors: { '4': { ...body.node_errors['4'], class_type: 'CheckpointLoader\uFFFDSimple', errors: [{ ...body.node_errors['4'].errors[0], details: "ckpt_name: 'x\uFFFD' not in (list of length 2)" }] } },
    });
    expect(stored).not.toMatch(/\\u0000|\\udc00/i);
  });

  it('when /prompt answers 400 naming tens of thousands of failing nodes, then the message names the first ones and message and details say they were cut', async () => {
    const nodeErrors = Object.fromEntries(
      Array.from({ length: 20_000 }, (_, i) => [String(i + 1), { class_type: 'EmptyImage', errors: [{ type: 'required_input_missing', message: 'Required input is missing', details: 'color', extra_info: {} }], dependent_outputs: [String(i + 1)] }]),
    );
    simulator.misbehave({ kind: 'post_answer', status: 400, body: { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} }, node_errors: nodeErrors } });
    const id = await fx.resolvedGeneration({ seed: 19 });
    const { row } = await failureRecord(id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'comfyui_validation' });
    expect(row.errorMessage).toMatch(/^node 1 \(EmptyImage\): Required input is missing: color; node 2 \(EmptyImage\).*… \[truncated: \d+ more characters\]$/);
    expect(row.errorMessage!.length).toBeLessThanOrEqual(JOB_ERROR_MESSAGE_MAX_CHARS + 100);
    const details = row.errorDetails as { node_errors: Record<string, unknown> };
    expect(details.node_errors['1']).toEqual(nodeErrors['1']);
    expect(details.node_errors['…']).toMatch(/^truncated: \d+ more entries$/);
    expect(JSON.stringify(details).length).toBeLessThanOrEqual(JOB_ERROR_DETAILS_MAX_CHARS + 200);
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

describe('render stage on a ComfyUI listing model names PostgreSQL cannot store (orchestrator in-process)', () => {
  let fx: OrchestratorFixture;

  beforeAll(async () => {
    // Listed first, the NUL checkpoint would be the one chosen for a job naming none.
    fx = await startOrchestratorFixture('hostile-model-names', { simulators: [{ stepMs: 2, checkpoints: ['bad\u0000.safetensors', 'anime-v1.safetensors'], loras: ['x\uDCFF.safetensors', 'style/inkwash.safetensors'] }] });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when /object_info lists checkpoints and LoRAs with NUL or a lone surrogate, then those are ignored: the backend row is written and the job renders with a real checkpoint', async () => {
    const id = await fx.resolvedGeneration({ seed: 21 });
    const row = await waitFor(async () => {
      const g = (await loadGeneration(fx.db, id))!;
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, 'the render to end', 30_000);
    expect(row).toMatchObject({ stage: 'rendered', errorCode: null });
    expect(JSON.stringify(row.workflow)).toContain('anime-v1.safetensors');
    const backend = await waitFor(async () => (await fx.db.backend.findFirst({ where: { capabilitiesAt: { not: null } } })) ?? null, 'the backend row');
    expect(backend).toMatchObject({ checkpoints: ['anime-v1.safetensors'], loras: ['style/inkwash.safetensors'] });
  });
});
