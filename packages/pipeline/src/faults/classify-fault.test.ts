import { CharacterDomainError, type CharacterErrorCode } from '@anime/characters';
import { ComfyExecutionError, ComfyHttpError, ComfyTransferError, ComfyUnreachableError, ComfyValidationError } from '@anime/comfyui-client';
import { classifyFault } from './classify-fault';
import { storableJobError } from './storable-job-error';
import { MalformedDataError, NoCapableBackendError, OutputUnreadableError, PromptTimedOutError, ReferenceUnavailableError, WorkflowNotFoundError } from './stage-faults';

const characterFault = (code: CharacterErrorCode) => new CharacterDomainError(code, `character says ${code}`, { ref: 'x' });

describe('classifyFault', () => {
  it('when a stage throws, then each fault gets its one job error code and only reachability and unknown faults are retried', () => {
    const validation = new ComfyValidationError({ error: { type: 'prompt_outputs_failed_validation', message: 'bad', details: '' }, node_errors: {} }, 'p1');
    const cases: [unknown, string, boolean][] = [
      [validation, 'comfyui_validation', false],
      [new ComfyExecutionError('p1', { exception_message: 'OOM' }), 'comfyui_execution', false],
      [new ComfyUnreachableError('connect ECONNREFUSED'), 'comfyui_unreachable', true],
      [new ComfyHttpError('POST', '/prompt', 403, {}), 'comfyui_unreachable', false],
      [new ReferenceUnavailableError('gone', { sha256: 'a', path: 'p' }), 'reference_unavailable', false],
      [new WorkflowNotFoundError('no', { workflow: 'x', available: [] }), 'workflow_not_found', false],
      [new PromptTimedOutError('late'), 'timeout', false],
      [new OutputUnreadableError('not an image'), 'filing_failed', false],
      [new MalformedDataError('bad column'), 'invalid_request', false],
      [characterFault('character_not_found'), 'character_not_found', false],
      [characterFault('version_not_found'), 'character_not_found', false],
      [characterFault('character_archived'), 'character_archived', false],
      [characterFault('outfit_not_found'), 'outfit_not_found', false],
      [new Error('connection reset'), 'internal', true],
    ];
    const seen = cases.map(([error]) => {
      const fault = classifyFault(error, 'generationRenders');
      return [fault.error.code, fault.transient];
    });
    expect(seen).toEqual(cases.map(([, code, transient]) => [code, transient]));
  });

  it('when a fault quotes a backend URL holding credentials (COMFYUI_URLS), then the job error, message and details, shows *** in their place', () => {
    const url = 'http://comfy:Pr0xyPw@gpu-1:8188';
    const faults = [
      classifyFault(new ComfyUnreachableError(`ComfyUI at ${url} unreachable (GET /queue: ECONNREFUSED)`), 'generationRenders'),
      classifyFault(new NoCapableBackendError(`no backend has ckpt.safetensors (of 1 backend: ${url})`, { missing: ['ckpt.safetensors'], backends: [{ url, missing: ['ckpt.safetensors'] }] }), 'generationRenders'),
      classifyFault(new Error(`backend ${url} went down: socket closed`), 'generationRenders'),
    ];
    expect(JSON.stringify(faults)).not.toContain('Pr0xyPw');
    expect(faults.map((fault) => fault.error.message)).toEqual([
      'ComfyUI at http://***@gpu-1:8188 unreachable (GET /queue: ECONNREFUSED)',
      'no backend has ckpt.safetensors (of 1 backend: http://***@gpu-1:8188)',
      'backend http://***@gpu-1:8188 went down: socket closed',
    ]);
    expect(faults[1].error.details).toEqual({ missing: ['ckpt.safetensors'], backends: [{ url: 'http://***@gpu-1:8188', missing: ['ckpt.safetensors'] }] });
  });

  it('when ComfyUI refuses the connection, then it is unreachable, not the database; a terminated PostgreSQL session is the database', () => {
    const refused = new ComfyUnreachableError('connect ECONNREFUSED 127.0.0.1:9', undefined, { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(classifyFault(refused, 'generationRenders')).toEqual({ error: { code: 'comfyui_unreachable', message: refused.message }, transient: true });
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '57P01' } } } });
    expect(classifyFault(terminated, 'generationRenders')).toMatchObject({ transient: true, databaseUnavailable: true });
  });

  it('when ComfyUI refuses a request, then the details say its status and request, and an answer that came as bytes is kept as text', () => {
    const view = new ComfyHttpError('GET', '/view', 404, Buffer.from('404: Not Found'));
    expect(classifyFault(view, 'assetFiling').error).toEqual({ code: 'filing_failed', message: view.message, details: { status: 404, request: 'GET /view', body: '404: Not Found' } });
    const empty = new ComfyHttpError('GET', '/view', 404, Buffer.alloc(0));
    expect(classifyFault(empty, 'assetFiling').error.details).toEqual({ status: 404, request: 'GET /view' });
    const forbidden = new ComfyHttpError('POST', '/prompt', 403, { error: 'no' });
    expect(classifyFault(forbidden, 'generationRenders').error.details).toEqual({ status: 403, request: 'POST /prompt', body: { error: 'no' } });
  });

  it('when filing meets an unreachable backend or an unknown fault, then the generation fails as filing_failed', () => {
    expect(classifyFault(new ComfyUnreachableError('down'), 'assetFiling').error.code).toBe('filing_failed');
    expect(classifyFault(new Error('disk full'), 'assetFiling')).toMatchObject({ error: { code: 'filing_failed' }, transient: true });
  });

  it('when a /view transfer stalls or comes too slowly, then filing tries again, and fails as filing_failed with what happened', () => {
    const stalled = new ComfyTransferError('ComfyUI at http://gpu-1:8188 stalled sending GET /view: no byte for 30 s after 1.5 MiB of the answer', 'stalled', 1_572_864);
    expect(classifyFault(stalled, 'assetFiling')).toEqual({ error: { code: 'filing_failed', message: stalled.message }, transient: true });
  });

  it('when a ComfyUI error\'s details hold JSON nested past the call stack (which JSON.parse reads), then it is comfyui_execution with its details cut as stored, credentials still hidden, not a RangeError', () => {
    const url = 'http://comfy:Pr0xyPw@gpu-1:8188';
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const details = JSON.parse(`{"exception_message": ${deep}, "node_type": "KSampler", "url": ${JSON.stringify(url)}}`) as Record<string, unknown>;
    const fault = classifyFault(new ComfyExecutionError('p1', details), 'generationRenders');
    expect(fault).toMatchObject({ error: { code: 'comfyui_execution', message: '(a value that cannot be shown)' }, transient: false });
    const kept = fault.error.details as Record<string, unknown>;
    expect(kept).toMatchObject({ node_type: 'KSampler', url: 'http://***@gpu-1:8188' });
    expect(JSON.stringify(kept.exception_message)).toContain('nested deeper than 20 levels');
    // Already within the stored bound: storing it keeps it as it is.
    expect(storableJobError(fault.error)).toEqual(fault.error);
  });

  it('when a character fault carries details, then they reach the job error', () => {
    expect(classifyFault(characterFault('outfit_not_found'), 'generationRequests').error).toEqual({ code: 'outfit_not_found', message: 'character says outfit_not_found', details: { ref: 'x' } });
  });
});
