import { LibraryWriteNotAnsweringError, LocalLibraryStorage } from '@anime/media';
import { gate } from '@anime/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const noop = () => undefined;

/**
 * Every library removal times out after `boundMs` while the mount hangs, as LocalLibraryStorage's
 * do, and is carried out (the real unlink) once the mount answers again: `answer()` lets the late
 * unlinks land, waits for them, and puts the real removal back.
 */
export function hungRemovals(boundMs: number) {
  const original = LocalLibraryStorage.prototype.remove;
  const mount = gate();
  let hung = true;
  const late: Promise<void>[] = [];
  const spy = jest.spyOn(LocalLibraryStorage.prototype, 'remove').mockImplementation(async function (this: LocalLibraryStorage, relativePath: string) {
    if (!hung) return original.call(this, relativePath);
    const leftBehind = mount.opened.then(() => original.call(this, relativePath)).then(noop, noop);
    late.push(leftBehind);
    await sleep(boundMs);
    throw Object.assign(new LibraryWriteNotAnsweringError('unlink', relativePath, boundMs), { leftBehind });
  });
  return {
    late,
    answer: async () => {
      hung = false;
      mount.open();
      await Promise.all(late);
      spy.mockRestore();
    },
  };
}
