import { answeredWithin, LibraryNotAnsweringError, libraryReadTimeoutMs } from './library-not-answering';

describe('answeredWithin', () => {
  it('when the read answers or fails in time, then that is the outcome', async () => {
    await expect(answeredWithin(Promise.resolve('abc'), 'references/a.png', 1_000)).resolves.toBe('abc');
    const refused = Object.assign(new Error('EACCES'), { code: 'EACCES' });
    await expect(answeredWithin(Promise.reject(refused), 'references/a.png', 1_000)).rejects.toBe(refused);
  });

  it('when the read has not answered within the bound, then LibraryNotAnsweringError (ETIMEDOUT) naming the path, after the bound and not before', async () => {
    const started = Date.now();
    const outcome = await answeredWithin(new Promise(() => undefined), 'references/a.png', 200).catch((error: unknown) => error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(outcome).toBeInstanceOf(LibraryNotAnsweringError);
    expect(outcome).toMatchObject({ reason: 'ETIMEDOUT', relativePath: 'references/a.png', waitedMs: 200, message: expect.stringContaining('did not answer a read of references/a.png within 0.2 s') });
  });

  it('when a file is read whole, then the bound is 5 s plus 1 ms per KiB (25 s for 20 MiB)', () => {
    expect(libraryReadTimeoutMs(0)).toBe(5_000);
    expect(libraryReadTimeoutMs(20 * 1024 * 1024)).toBe(25_000);
  });
});
