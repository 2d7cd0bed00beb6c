import { ComfyHttpError, ComfyTransferError, ComfyUnreachableError } from '@anime/comfyui-client';
import { backendDown, nextLookInMs } from './backend-wait';

describe('waiting for the backend that holds the outputs', () => {
  it('when the backend cannot be reached at all (refused, no answer, its proxy says it is down), then filing waits; an answer of the backend does not make it wait', () => {
    expect(backendDown(new ComfyUnreachableError('ComfyUI at http://gpu-1:8188 unreachable (GET /view: ECONNREFUSED)'))).toBe(true);
    expect(backendDown(new ComfyUnreachableError('ComfyUI at http://gpu-1:8188 answered 502 to GET /view', 502))).toBe(true);
    expect(backendDown(new ComfyUnreachableError('ComfyUI at http://gpu-1:8188 answered 500 to GET /view', 500))).toBe(false);
    expect(backendDown(new ComfyHttpError('GET', '/view', 404, ''))).toBe(false);
    expect(backendDown(new ComfyTransferError('stalled', 'stalled', 10))).toBe(false);
  });

  it('when filing has waited, then it looks again after as long again, at most every maxStep, never past the limit, and not at all once the limit is reached', () => {
    const wait = { limitMs: 600_000, maxStepMs: 15_000 };
    expect([0, 1_000, 2_000, 4_000, 8_000, 16_000, 300_000].map((waited) => nextLookInMs(waited, wait))).toEqual([1_000, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(nextLookInMs(595_000, wait)).toBe(5_000);
    expect(nextLookInMs(600_000, wait)).toBeUndefined();
    expect(nextLookInMs(900_000, wait)).toBeUndefined();
  });
});
