import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@anime/stack';

// `pnpm demo` (run by scripts/setup.sh) with a port of its stack taken, as by a `pnpm start` left
// running: it used to start its services anyway, they all failed to listen, and the demo "completed"
// on the stack that was there (another build, perhaps another database). It now stops first, as
// `pnpm start` does: one line naming the port and its variable, exit 1, nothing started or asked.

const ROOT = path.resolve(__dirname, '..');

function demo(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Killed after 30 s: a demo that went on to start its stack then fails on its exit code, not on jest's timeout.
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/demo.ts')], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number | null }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** What a stack left running has on the port: a server answering its readiness checks (/readyz, /system_stats) 200. */
const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'));
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

jest.setTimeout(60_000);

describe('pnpm demo: a port of its stack already taken', () => {
  it.each(['PORT', 'SIMULATOR_PORT'])('when %s is taken, then it exits 1 with one line naming the port and the variable, before starting anything', async (variable) => {
    const names = ['PORT', 'CHARACTER_PORT', 'ORCHESTRATOR_PORT', 'FILE_ORGANIZER_PORT', 'SIMULATOR_PORT'];
    const env: Record<string, string> = Object.fromEntries(await Promise.all(names.map(async (name) => [name, String(await freePort())])));
    const holder = await listen(Number(env[variable]));
    const library = path.join(tmpdir(), `demo-usage-${process.pid}-${variable}`);
    try {
      // A database nothing listens on: a demo that reached for it would fail otherwise, later.
      const result = await demo({ ...env, COMFYUI_URLS: '', DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere', LIBRARY_DIR: library });
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
      expect(result.stderr.trimEnd().split('\n')).toEqual([`demo failed: port ${env[variable]} (${variable}) is already in use: stop what listens there or set ${variable} to a free port`]);
    } finally {
      holder.closeAllConnections();
      holder.close();
      await rm(library, { recursive: true, force: true });
    }
  });
});
