import { Worker } from 'node:worker_threads';
import { LibraryWriteNotAnsweringError } from './library-write-bound';

/** One file of a synced write: the temp file it goes through, then the target it is renamed onto. */
export interface SyncedFile {
  temp: string;
  target: string;
  bytes: Uint8Array;
}

/**
 * The threads' program, plain JavaScript run with `eval` so a bundled service needs no file beside
 * it. One task: each file written to its temp file (open, write all, fsync, close) and renamed onto
 * its target, its folder made again when it vanished since (as makeFolder makes one); then each folder fsynced, so the
 * renames too survive a crash of the machine (a folder that cannot be opened, or a file system that
 * refuses fsync on one, EINVAL, is left: the files themselves are synced).
 *
 * Made synchronously on one thread, the 13 calls of an image and its sidecar cost about half the
 * CPU they cost as libuv thread-pool requests, each of which is a hand-off to a pool thread and back
 * (0.45-0.56 against 0.93-1.17 ms per filing, 11 against 52-55 context switches, in the same wall
 * time), while the service's event loop still never waits on the disk.
 */
const THREAD_PROGRAM = `
const fs = require('node:fs');
const path = require('node:path');
const { parentPort } = require('node:worker_threads');

function writeAll(fd, bytes) {
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, written);
}

// The task's caller gave up on it (its bound ran out while a call hung): what is left of it is not
// done, so a write that answers late never lands a file after its filing has failed and moved on.
let abandoned = null;
function throwIfAbandoned() {
  if (abandoned && Atomics.load(abandoned, 0) === 1) throw Object.assign(new Error('the synced write was abandoned by its caller'), { code: 'EABANDONED' });
}

function writeSynced(file) {
  throwIfAbandoned();
  const fd = fs.openSync(file.temp, 'w');
  try {
    try {
      writeAll(fd, file.bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    throwIfAbandoned();
    fs.renameSync(file.temp, file.target);
  } catch (error) {
    // A write refused half-way (ENOSPC, EDQUOT, EFBIG, EIO) leaves a temp file holding what did
    // land: kept, each try of a full disk would fill it further, and the space would come back
    // only with the sweep of stale partials.
    fs.rmSync(file.temp, { force: true });
    // A write or a read by descriptor names no path, as a socket's would not: named here, its file's
    // error is never taken for a database connection's (ETIMEDOUT from a network mount).
    if (error && typeof error === 'object' && error.path === undefined) error.path = file.temp;
    throw error;
  }
}

// makeFolder (make-folder.ts), synchronously: each missing folder made once, from the top, the first
// refusal thrown as it is. Node's recursive mkdir answered ENOENT for a dangling link where the folder
// goes (a library refusal, ENOTDIR, when makeFolder meets it) and for a read-only volume (EROFS); a
// loop of links there (ELOOP) is the same ENOTDIR refusal.
function makeFolder(folder) {
  try {
    fs.mkdirSync(folder);
    return;
  } catch (error) {
    if (error.code === 'EEXIST') return assertFolder(folder, error);
    if (error.code === 'ELOOP') throw notAFolder(folder, 'a loop of links stands on its path', error);
    if (error.code !== 'ENOENT' || path.dirname(folder) === folder) throw error;
  }
  makeFolder(path.dirname(folder));
  try {
    fs.mkdirSync(folder);
  } catch (error) {
    if (error.code === 'EEXIST') return assertFolder(folder, error);
    if (error.code === 'ELOOP') throw notAFolder(folder, 'a loop of links stands on its path', error);
    throw error;
  }
}

function assertFolder(folder, exists) {
  let what;
  try {
    if (fs.statSync(folder).isDirectory()) return;
    what = 'a file';
  } catch (error) {
    if (error.code === 'ELOOP') what = 'a loop of links';
    else if (error.code === 'ENOENT') what = 'a link to nothing';
    else throw error;
  }
  throw notAFolder(folder, what + ' stands there', exists);
}

function notAFolder(folder, what, cause) {
  return Object.assign(new Error('ENOTDIR: not a directory (' + what + '), mkdir "' + folder + '"', { cause }), { code: 'ENOTDIR', syscall: 'mkdir', path: folder });
}

// A folder gone since (ENOENT) is made again; a loop of links in its place (ELOOP) is then the ENOTDIR
// refusal makeFolder throws.
function writeInFolder(file) {
  try {
    writeSynced(file);
  } catch (error) {
    if (error.code !== 'ENOENT' && error.code !== 'ELOOP') throw error;
    makeFolder(path.dirname(file.target));
    writeSynced(file);
  }
}

function syncFolder(folder) {
  let fd;
  try {
    fd = fs.openSync(folder, fs.constants.O_RDONLY | (fs.constants.O_DIRECTORY || 0));
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (error.code !== 'EINVAL') throw error;
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', ({ files, folders, abandonedFlag }) => {
  abandoned = abandonedFlag ? new Int32Array(abandonedFlag) : null;
  try {
    for (const file of files) writeInFolder(file);
    for (const folder of folders) syncFolder(folder);
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: { message: String(error && error.message), code: error && error.code, errno: error && error.errno, syscall: error && error.syscall, path: error && error.path } });
  }
});
`;

/**
 * Two: a slow disk still syncs two filings at once, while each thread costs the process about 7 MiB
 * of RSS (measured: 1, 2 and 4 threads, +8, +15 and +29 MiB). A filing takes about 2 ms here.
 */
export const SYNCED_WRITE_THREADS = 2;

interface Task {
  files: SyncedFile[];
  folders: string[];
  resolve: () => void;
  reject: (error: Error) => void;
  /** How long the task may go unanswered (see run); Infinity: unbounded. */
  boundMs: number;
  /** Queued: since when it waits; given to a thread: since when it runs there. */
  since: number;
  timer?: NodeJS.Timeout;
  /** Set to 1 (by its bound) for the thread to leave what remains of the task undone. */
  abandoned: Int32Array;
  /** Resolved, rejected or given up on: a late answer of its thread settles nothing. */
  settled: boolean;
}

interface Reply {
  ok: boolean;
  error?: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
}

/** The error a thread caught, as fs would have thrown it here: message, code, errno, syscall, path. */
function errorFromReply(reply: NonNullable<Reply['error']>): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(reply.message);
  for (const key of ['code', 'errno', 'syscall', 'path'] as const) if (reply[key] !== undefined) Object.assign(error, { [key]: reply[key] });
  return error;
}

/**
 * A few threads that make synced writes, one task per thread at a time, started when first needed.
 * A thread holds the process open only while it has a task; one that dies fails its task, which
 * its caller retries as any failed write.
 */
export class SyncedWriteThreads {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Task>();
  private readonly queued: Task[] = [];
  /** When a thread last answered a task: a queued task is not stalled while the threads ahead of it still answer. */
  private lastAnswerAt = Date.now();

  constructor(private readonly max = SYNCED_WRITE_THREADS) {}

  /** Threads started and alive, idle or busy. */
  get threads(): number {
    return this.idle.length + this.busy.size;
  }

  /**
   * Writes `files` (each through its temp file, synced, renamed), then syncs `folders`. Bounded by
   * `boundMs` (a hung mount): a task a thread has not answered `boundMs` after it began there, or
   * that waited queued that long while no thread answered any task, fails with
   * LibraryWriteNotAnsweringError (ETIMEDOUT, naming the first file's target). A queued one is
   * dropped; a running one is abandoned: its thread, stuck in a call that nothing can cancel (a
   * blocked open, write or fsync keeps the thread in the kernel until the mount answers, and
   * Worker.terminate cannot interrupt it), is not reclaimed nor replaced (each try of a hung mount would
   * leak one more), stops holding the process open, and once answered does no more of the task
   * (no rename: no file lands after its caller failed) and serves the next.
   */
  run(files: SyncedFile[], folders: string[], boundMs = Infinity): Promise<void> {
    return new Promise((resolve, reject) => {
      const abandoned = new Int32Array(new SharedArrayBuffer(4));
      const task: Task = { files, folders, resolve, reject, boundMs, since: Date.now(), abandoned, settled: false };
      const thread = this.idle.pop() ?? (this.busy.size < this.max ? this.start() : undefined);
      if (thread) return this.give(thread, task);
      this.queued.push(task);
      this.arm(task, boundMs);
    });
  }

  /** Looks at `task` in `ms` (unless bounded by Infinity): given up on if it is still unanswered past its bound. */
  private arm(task: Task, ms: number): void {
    if (!Number.isFinite(task.boundMs)) return;
    task.timer = setTimeout(() => this.look(task), Math.max(1, ms));
  }

  private look(task: Task): void {
    if (task.settled) return;
    const queuedAt = this.queued.indexOf(task);
    // Queued: the wait counts from the threads' last answer, as long as they answer it is a busy volume.
    const since = queuedAt >= 0 ? Math.max(task.since, this.lastAnswerAt) : task.since;
    const left = since + task.boundMs - Date.now();
    if (left > 0) return this.arm(task, left);
    if (queuedAt >= 0) this.queued.splice(queuedAt, 1);
    task.settled = true;
    Atomics.store(task.abandoned, 0, 1);
    for (const [thread, held] of this.busy) if (held === task) thread.unref();
    task.reject(new LibraryWriteNotAnsweringError('write', task.files[0]?.target ?? task.folders[0] ?? '', task.boundMs));
  }

  private start(): Worker {
    const thread = new Worker(THREAD_PROGRAM, { eval: true });
    thread.on('message', (reply: Reply) => this.settle(thread, reply));
    thread.on('error', (error) => this.lose(thread, error));
    thread.on('exit', (code) => this.lose(thread, new Error(`a synced-write thread exited (code ${code})`)));
    return thread;
  }

  private give(thread: Worker, task: Task): void {
    clearTimeout(task.timer);
    task.since = Date.now();
    this.busy.set(thread, task);
    thread.ref();
    thread.postMessage({ files: task.files, folders: task.folders, abandonedFlag: task.abandoned.buffer });
    this.arm(task, task.boundMs);
  }

  private settle(thread: Worker, reply: Reply): void {
    const task = this.busy.get(thread);
    if (!task) return;
    this.busy.delete(thread);
    this.lastAnswerAt = Date.now();
    this.end(task, reply.ok ? undefined : errorFromReply(reply.error ?? { message: 'a synced write failed' }));
    this.next(thread);
  }

  /** Resolves the task, or rejects it with `error`, unless it was given up on already. */
  private end(task: Task, error?: Error): void {
    clearTimeout(task.timer);
    if (task.settled) return;
    task.settled = true;
    if (error) task.reject(error);
    else task.resolve();
  }

  /** The next queued task goes to this thread; with none, it waits idle without holding the process open. */
  private next(thread: Worker): void {
    const task = this.queued.shift();
    if (task) return this.give(thread, task);
    thread.unref();
    this.idle.push(thread);
  }

  private lose(thread: Worker, error: Error): void {
    const task = this.busy.get(thread);
    this.busy.delete(thread);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    if (task) this.end(task, error);
    // A thread that errs also exits: only the first of the two takes its place for a queued task.
    if (this.queued.length && this.busy.size < this.max) this.give(this.start(), this.queued.shift()!);
  }
}
