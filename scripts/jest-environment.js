// The environment every test file runs in: Node's, and the worker threads a file started end with it.
//
// @anime/media's synced-write threads are one pool per module registry (library-storage.ts), and
// jest gives each test file a registry of its own: a jest worker kept up to two idle threads for every file
// that wrote to a library, dozens by the end of a run, and Node joins each thread as the process
// exits. On a loaded machine that took the worker past the 500 ms jest gives it to exit ("A worker
// process has failed to exit gracefully and has been force exited"): the file-organizer's tests left
// 7 and 8 threads in their two workers, which took 709 and 931 ms to exit, 343-376 ms once each
// file's threads were ended with it. (The other cause of a slow exit, a large heap, is bounded by
// workerIdleMemoryLimit in jest.config.js.)
const path = require('node:path');
const workerThreads = require('node:worker_threads');

// jest-environment-node, as jest itself resolves it (it is not a dependency of the project's own).
const from = (name, dir) => require.resolve(name, { paths: [dir] });
const jestDir = path.dirname(from('jest/package.json', __dirname));
const configDir = path.dirname(from('jest-config/package.json', path.dirname(from('@jest/core/package.json', jestDir))));
const { TestEnvironment } = require(from('jest-environment-node', configDir));

/** How long a thread is given to end; one stuck in the kernel (a test's hung mount) is not waited for. */
const END_WITHIN_MS = 2_000;

// Core modules are shared by every test file of the process: the Worker class is wrapped once, to
// know the threads each file starts.
const STARTED = Symbol.for('anime.jest.workerThreads');
if (!workerThreads.Worker[STARTED]) {
  const Original = workerThreads.Worker;
  const started = new Set();
  class Worker extends Original {
    constructor(...args) {
      super(...args);
      started.add(this);
      this.once('exit', () => started.delete(this));
    }
  }
  Worker[STARTED] = started;
  workerThreads.Worker = Worker;
}
const started = workerThreads.Worker[STARTED];

class ThreadsEndingEnvironment extends TestEnvironment {
  async setup() {
    this.before = new Set(started);
    await super.setup();
  }

  async teardown() {
    const left = [...started].filter((thread) => !this.before.has(thread));
    await Promise.all(
      left.map((thread) => {
        const ended = thread.terminate().catch(() => undefined);
        return Promise.race([ended, new Promise((resolve) => setTimeout(resolve, END_WITHIN_MS).unref())]);
      }),
    );
    await super.teardown();
  }
}

module.exports = ThreadsEndingEnvironment;
