import { Readable } from 'node:stream';
import { watchLibraryReadStall, type LibraryFileStream } from './library-read-stall';

/** A library file's stream whose reads answer only when `give` is called (none: a hung mount). */
function fileStream(): { file: LibraryFileStream; give: (bytes: number) => void } {
  let bytesRead = 0;
  const file = new Readable({ read() {} });
  Object.defineProperty(file, 'bytesRead', { get: () => bytesRead });
  return {
    file: file as LibraryFileStream,
    give: (bytes) => {
      bytesRead += bytes;
      file.push(Buffer.alloc(bytes));
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BOUND = 200;

describe('watchLibraryReadStall', () => {
  it('when a flowing stream gives no byte for the bound, then onStall is called once, not before the bound', async () => {
    const { file } = fileStream();
    const stalls: number[] = [];
    const started = Date.now();
    file.resume();
    watchLibraryReadStall(file, BOUND, () => stalls.push(Date.now() - started));
    await sleep(BOUND * 3);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(BOUND);
    file.destroy();
  });

  it('when bytes keep coming, or the stream is paused by its consumer (a client reading slowly), then it is not called', async () => {
    const { file, give } = fileStream();
    let stalls = 0;
    const stop = watchLibraryReadStall(file, BOUND, () => stalls++);
    file.resume();
    for (let i = 0; i < 8; i++) {
      give(10);
      await sleep(BOUND / 4);
    }
    file.pause();
    await sleep(BOUND * 2);
    expect(stalls).toBe(0);
    stop();
    file.destroy();
  });

  it('when a stream paused for long flows again and then gives nothing, then the bound counts from its flowing again', async () => {
    const { file } = fileStream();
    const stalls: number[] = [];
    let resumed = Date.now();
    watchLibraryReadStall(file, BOUND, () => stalls.push(Date.now() - resumed));
    file.resume();
    file.pause();
    await sleep(BOUND * 2);
    resumed = Date.now();
    file.resume();
    await sleep(BOUND * 3);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]).toBeGreaterThanOrEqual(BOUND);
    file.destroy();
  });

  it('when the stream ends or is destroyed, then the watch ends with it', async () => {
    const ended = fileStream();
    const destroyed = fileStream();
    const stalls: string[] = [];
    watchLibraryReadStall(ended.file, BOUND, () => stalls.push('ended'));
    watchLibraryReadStall(destroyed.file, BOUND, () => stalls.push('destroyed'));
    ended.file.resume();
    ended.file.push(null);
    destroyed.file.resume();
    destroyed.file.destroy();
    await sleep(BOUND * 3);
    expect(stalls).toEqual([]);
  });
});
