import { ComfyExecutionError, ComfyHttpError, ComfyInterruptedError, ComfyValidationError } from '@anime/comfyui-client';
import { jsonIsStorable } from '@anime/contracts';
import { classifyFault } from './classify-fault';
import { JOB_ERROR_DETAILS_MAX_CHARS, JOB_ERROR_MESSAGE_MAX_CHARS, storableJobError } from './storable-job-error';

// What a real execution_error carries (ComfyUI 0.3.x, an OOM in KSampler): kept whole.
const TRACEBACK = [
  '  File "/opt/ComfyUI/execution.py", line 518, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all)\n',
  '  File "/opt/ComfyUI/nodes.py", line 1525, in sample\n    return common_ksampler(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=denoise)\n',
  '  File "/opt/ComfyUI/comfy/ops.py", line 110, in forward_comfy_cast_weights\n    return torch.nn.functional.linear(input, weight, bias)\n',
];
const realEvent = (exceptionMessage: string) => ({
  prompt_id: 'p1',
  node_id: '3',
  node_type: 'KSampler',
  executed: ['4', '5', '6', '7'],
  exception_message: exceptionMessage,
  exception_type: 'torch.OutOfMemoryError',
  traceback: TRACEBACK,
  current_inputs: { seed: ['42'], steps: ['20'], cfg: ['7.0'], sampler_name: ['euler'] },
  current_outputs: ['3', '4', '5', '6', '7', '8', '9'],
  timestamp: 1_760_000_000_000,
});
const jsonChars = (value: unknown) => JSON.stringify(value).length;

describe('storableJobError', () => {
  it('when ComfyUI sends a real execution error, then message and details are kept exactly', () => {
    const event = realEvent('Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.\n');
    const fault = classifyFault(new ComfyExecutionError('p1', event), 'generationRenders');
    expect(storableJobError(fault.error)).toEqual(fault.error);
  });

  it('when the exception message and traceback hold NUL characters and lone surrogates, then each becomes U+FFFD and every other word stays', () => {
    const event = { ...realEvent('CUDA error: \u0000device-side assert \uD800triggered \uD83D\uDE00 \uDC00'), traceback: [...TRACEBACK, 'bad\u0000frame\uDBFF'] };
    const stored = storableJobError(classifyFault(new ComfyExecutionError('p1', event), 'generationRenders').error);
    expect(stored.code).toBe('comfyui_execution');
    // A well-formed pair (the emoji) is a character, not an unstorable half.
    expect(stored.message).toBe('CUDA error: \uFFFDdevice-side assert \uFFFDtriggered \uD83D\uDE00 \uFFFD');
    expect(jsonIsStorable(stored.details)).toBe(true);
    expect(stored.details).toMatchObject({ node_id: '3', node_type: 'KSampler', exception_type: 'torch.OutOfMemoryError', traceback: [...TRACEBACK, 'bad\uFFFDframe\uFFFD'] });
  });

  it('when a /prompt refusal names nodes and classes with unstorable characters (in keys too), then the summary still names each node, class and message', () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
      node_errors: { '4\u0000': { class_type: 'Checkpoint\uDC00Loader', errors: [{ message: 'Value not in list', details: "ckpt_name: 'x\u0000' not in (list of length 37)" }], dependent_outputs: ['9'] } },
    };
    const stored = storableJobError(classifyFault(new ComfyValidationError(body), 'generationRenders').error);
    expect(stored).toMatchObject({ code: 'comfyui_validation', message: "node 4\uFFFD (Checkpoint\uFFFDLoader): Value not in list: ckpt_name: 'x\uFFFD' not in (list of length 37)" });
    expect(stored.details).toEqual({
      error: body.error,
      node_errors: { '4\uFFFD': { class_type: 'Checkpoint\uFFFDLoader', errors: [{ message: 'Value not in list', details: "ckpt_name: 'x\uFFFD' not in (list of length 37)" }], dependent_outputs: ['9'] } },
    });
  });

  it('when an interrupt names a node type with a NUL, then the message made of it is storable', () => {
    const stored = storableJobError(classifyFault(new ComfyInterruptedError('p1', { node_id: '3', node_type: 'KSa\u0000mpler' }), 'generationRenders').error);
    expect(stored.message).toBe('ComfyUI interrupted prompt p1 at node 3 (KSa\uFFFDmpler)');
    expect(jsonIsStorable(stored)).toBe(true);
  });

  it('when a /view refusal (filing) answers bytes with NUL, then the body kept in the details is storable text', () => {
    const stored = storableJobError(classifyFault(new ComfyHttpError('GET', '/view', 404, Buffer.from('404: no\u0000such file')), 'assetFiling').error);
    expect(stored).toMatchObject({ code: 'filing_failed', details: { status: 404, request: 'GET /view', body: '404: no\uFFFDsuch file' } });
  });

  it('when the exception message is megabytes long, then the message keeps its start with a marker and the details keep the traceback', () => {
    const huge = `RuntimeError: ${'x'.repeat(5_000_000)}`;
    const stored = storableJobError(classifyFault(new ComfyExecutionError('p1', realEvent(huge)), 'generationRenders').error);
    expect(stored.message.startsWith('RuntimeError: xxx')).toBe(true);
    expect(stored.message).toMatch(/… \[truncated: \d+ more characters\]$/);
    expect(stored.message.length).toBeLessThanOrEqual(JOB_ERROR_MESSAGE_MAX_CHARS + 100);
    const details = stored.details as ReturnType<typeof realEvent>;
    expect(details.exception_message).toMatch(/^RuntimeError: x+… \[truncated: \d+ more characters\]$/);
    expect(details.traceback).toEqual(TRACEBACK);
    expect(details.current_outputs).toEqual(realEvent('').current_outputs);
    expect(jsonChars(details)).toBeLessThanOrEqual(JOB_ERROR_DETAILS_MAX_CHARS);
  });

  it('when a /prompt refusal names tens of thousands of failing nodes, then the message and details are bounded and say how much was left out', () => {
    const nodeErrors = Object.fromEntries(
      Array.from({ length: 30_000 }, (_, i) => [String(i + 1), { class_type: 'EmptyImage', errors: [{ message: 'Required input is missing', details: 'color' }], dependent_outputs: [String(i + 1)] }]),
    );
    const body = { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' }, node_errors: nodeErrors };
    const stored = storableJobError(classifyFault(new ComfyValidationError(body), 'generationRenders').error);
    expect(stored.message.startsWith('node 1 (EmptyImage): Required input is missing: color; node 2 (EmptyImage)')).toBe(true);
    expect(stored.message).toMatch(/… \[truncated: \d+ more characters\]$/);
    const details = stored.details as typeof body & { node_errors: Record<string, unknown> };
    expect(details.error).toEqual(body.error);
    expect(details.node_errors['1']).toEqual(nodeErrors['1']);
    expect(details.node_errors['…']).toMatch(/^truncated: \d+ more entries$/);
    expect(jsonChars(details)).toBeLessThanOrEqual(JOB_ERROR_DETAILS_MAX_CHARS + 200);
  });

  it('when details hold many control characters, a long list, deep nesting and a __proto__ key, then they stay JSON within the bound', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const details = JSON.parse('{"__proto__": {"a": 1}}') as Record<string, unknown>;
    // The list comes last: it takes what room is left.
    Object.assign(details, { controls: '\u0001'.repeat(200_000), deep, list: Array.from({ length: 100_000 }, (_, i) => i) });
    const stored = storableJobError({ code: 'comfyui_execution', message: 'm', details });
    const kept = stored.details as Record<string, unknown>;
    expect(Object.keys(kept)).toEqual(['__proto__', 'controls', 'deep', 'list']);
    expect(kept.controls).toMatch(/^\u0001+… \[truncated: \d+ more characters\]$/);
    expect(kept.__proto__).toEqual({ a: 1 });
    expect(JSON.stringify(kept)).toContain('nested deeper than 20 levels');
    expect((kept.list as unknown[]).at(-1)).toMatch(/^… \[truncated: \d+ more items\]$/);
    expect(jsonChars(kept)).toBeLessThanOrEqual(JOB_ERROR_DETAILS_MAX_CHARS + 200);
  });

  it('when a cut falls inside a surrogate pair, then the pair is left out whole rather than halved', () => {
    const message = `${'a'.repeat(JOB_ERROR_MESSAGE_MAX_CHARS - 1)}\uD83D\uDE00tail`;
    const stored = storableJobError({ code: 'internal', message });
    expect(stored.message).toBe(`${'a'.repeat(JOB_ERROR_MESSAGE_MAX_CHARS - 1)}… [truncated: 6 more characters]`);
  });
});
