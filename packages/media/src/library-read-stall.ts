import type { Readable } from 'node:stream';

/** A library file being read as a stream (fs.createReadStream): how many bytes its reads have given so far. */
export type LibraryFileStream = Readable & { readonly bytesRead: number };

/**
 * Calls `onStall` once if `file`, a library file being streamed, gives no byte for `ms` while its
 * consumer waits for one (the stream flowing): a read the volume does not answer (a hung NFS or FUSE
 * mount that answered the open and the first reads, then stopped). Time spent paused (the consumer
 * full: a client reading slowly) does not count, nor does the stream's end. Looked at every `ms`/5
 * (at most every second): a stall is seen `ms` to `ms` plus two looks after the last byte read or
 * the stream's last pause, never before. The watch ends by itself once the stream ends or closes
 * (or is seen destroyed); the returned function ends it too. The read left behind cannot be
 * canceled: it keeps its libuv thread until the mount answers, and the stream closes its file then.
 */
export function watchLibraryReadStall(file: LibraryFileStream, ms: number, onStall: () => void): () => void {
  let read = file.bytesRead;
  let since = Date.now();
  // Paused since the last look (however briefly): the wait starts again from the next one.
  let paused = true;
  const onPause = () => (paused = true);
  const stop = () => {
    clearInterval(timer);
    file.off('pause', onPause).off('end', stop).off('close', stop);
  };
  const look = () => {
    if (file.destroyed || file.readableEnded) return stop();
    if (paused || file.readableFlowing !== true || file.bytesRead !== read) {
      read = file.bytesRead;
      since = Date.now();
      paused = file.readableFlowing !== true;
      return;
    }
    if (Date.now() - since < ms) return;
    stop();
    onStall();
  };
  const timer = setInterval(look, Math.max(10, Math.min(1_000, Math.floor(ms / 5))));
  // Nothing to wait for at exit: the stream's own work keeps the process up.
  timer.unref();
  file.on('pause', onPause).once('end', stop).once('close', stop);
  return stop;
}
