import { DelayedError, UnrecoverableError } from 'bullmq';
import { ComfyUnreachableError } from '@anime/comfyui-client';
import { queueVisibleError } from './queue-visible-error';

const url = 'http://render:s3cret@gpu-1:8188';

describe('queueVisibleError', () => {
  it('when a message names a URL with credentials, then the copy shows them as *** in its message and stack, keeps its class and fields, and the original is untouched', () => {
    const original = new ComfyUnreachableError(`ComfyUI at ${url} unreachable`, 502);
    const shown = queueVisibleError(original);
    expect(shown).toBeInstanceOf(ComfyUnreachableError);
    expect({ name: shown.name, message: shown.message, status: shown.status }).toEqual({
      name: 'ComfyUnreachableError',
      message: 'ComfyUI at http://***@gpu-1:8188 unreachable',
      status: 502,
    });
    expect(shown.stack).toMatch(/^ComfyUnreachableError: ComfyUI at http:\/\/\*\*\*@gpu-1:8188 unreachable\n {4}at /);
    expect(shown.stack).not.toContain('s3cret');
    expect(original.message).toContain('s3cret');
  });

  it('when the error is one BullMQ reads by its class (unrecoverable), then the copy is still one', () => {
    const shown = queueVisibleError(new UnrecoverableError(`backend ${url} refused the prompt`));
    expect(shown).toBeInstanceOf(UnrecoverableError);
    expect(shown.name).toBe('UnrecoverableError');
    expect(shown.message).toBe('backend http://***@gpu-1:8188 refused the prompt');
  });

  it('when nothing is to be hidden, or it is no Error, then it is returned as it is', () => {
    const delayed = new DelayedError();
    expect(queueVisibleError(delayed)).toBe(delayed);
    const plain = new Error('backend http://gpu-1:8188 went down');
    expect(queueVisibleError(plain)).toBe(plain);
    expect(queueVisibleError(`backend ${url}`)).toBe(`backend ${url}`);
  });
});
