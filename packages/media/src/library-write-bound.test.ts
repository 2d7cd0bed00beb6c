import { isLibraryNotAnswering, LibraryWriteNotAnsweringError, libraryWriteTimeoutMs, writeAnsweredWithin } from './library-write-bound';
import { LibraryNotAnsweringError } from './library-not-answering';
import { libraryRefusal } from './library-refusal';

describe('writeAnsweredWithin', () => {
  it('when the step answers or fails in time, then that is the outcome', async () => {
    await expect(writeAnsweredWithin(Promise.resolve('done'), 'mkdir', '/library/a', 1_000)).resolves.toBe('done');
    const refused = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    await expect(writeAnsweredWithin(Promise.reject(refused), 'mkdir', '/library/a', 1_000)).rejects.toBe(refused);
  });

  it('when the step has not answered within the bound, then a file-system error ETIMEDOUT naming the call and the path, after the bound and not before', async () => {
    const started = Date.now();
    const outcome = await writeAnsweredWithin(new Promise(() => undefined), 'unlink', '/library/a.png', 200).catch((error: unknown) => error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(outcome).toBeInstanceOf(LibraryWriteNotAnsweringError);
    expect(outcome).toMatchObject({ code: 'ETIMEDOUT', syscall: 'unlink', path: '/library/a.png', message: expect.stringContaining('did not answer a unlink within 0.2 s') });
    expect(isLibraryNotAnswering(outcome)).toBe(true);
    // Not a refusal of the writes: the library may well take them once the mount answers.
    expect(libraryRefusal(outcome)).toBeNull();
  });
});

describe('isLibraryNotAnswering', () => {
  it('when a soft mount times out a call itself (ETIMEDOUT naming a path), then it is the library not answering; a socket\'s ETIMEDOUT or another errno is not', () => {
    expect(isLibraryNotAnswering(Object.assign(new Error('x'), { code: 'ETIMEDOUT', syscall: 'open', path: '/library/a.png' }))).toBe(true);
    expect(isLibraryNotAnswering(Object.assign(new Error('x'), { code: 'ETIMEDOUT', syscall: 'connect', address: '10.0.0.1' }))).toBe(false);
    expect(isLibraryNotAnswering(Object.assign(new Error('x'), { code: 'ENOSPC', path: '/library/a.png' }))).toBe(false);
    expect(isLibraryNotAnswering(undefined)).toBe(false);
    // A read past its bound (answeredWithin) is the library not answering as well.
    expect(isLibraryNotAnswering(new LibraryNotAnsweringError('a.png', 5_000))).toBe(true);
  });
});

describe('libraryWriteTimeoutMs', () => {
  it('when a write is bounded, then by 30 s plus 1 ms per KiB (50 s for 20 MiB)', () => {
    expect(libraryWriteTimeoutMs(0)).toBe(30_000);
    expect(libraryWriteTimeoutMs(20 * 1024 * 1024)).toBe(50_000);
  });
});
