import { execFileSync } from 'node:child_process';
import Module from 'node:module';

const ignoreSignal = () => undefined;

/**
 * Node's own process object. Under jest `process` is a copy whose signal listeners never reach
 * Node's signal handling (measured: SIGXFSZ then killed the test process about every other run);
 * the module loader hands out the real one.
 */
const nodeProcess = (Module as unknown as { _load(request: string): NodeJS.Process })._load('process');

/**
 * Runs `work` with this process's file-size limit (RLIMIT_FSIZE, set with util-linux's prlimit on
 * the process itself) lowered to `bytes`: every write past it, in any thread, fails with EFBIG, a
 * real refusal by the kernel as a full disk's ENOSPC is, with no privileges and no mount. SIGXFSZ,
 * which would kill the process, is caught meanwhile. The limit is put back as it was after.
 */
export async function withFileSizeLimit<T>(bytes: number, work: () => Promise<T>): Promise<T> {
  const pid = String(nodeProcess.pid);
  const [soft, hard] = execFileSync('prlimit', ['--pid', pid, '--fsize', '--output=SOFT,HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).trim().split(/\s+/);
  nodeProcess.on('SIGXFSZ', ignoreSignal);
  execFileSync('prlimit', ['--pid', pid, `--fsize=${bytes}:${hard}`]);
  try {
    return await work();
  } finally {
    execFileSync('prlimit', ['--pid', pid, `--fsize=${soft}:${hard}`]);
    nodeProcess.off('SIGXFSZ', ignoreSignal);
  }
}
