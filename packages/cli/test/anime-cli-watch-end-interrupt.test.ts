import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { REPO_ROOT } from '@anime/stack';
import { waitFor } from '@anime/testing';

const CLI = path.join(REPO_ROOT, 'packages/cli/dist/anime.js');
const JOB = '00000000-0000-4000-8000-000000000003';

describe('anime generate --watch interrupted while the ended job is read', () => {
  it('when Ctrl-C comes while the watch waits (up to 30 s) for a gateway away to read how the job ended, then it says on one line that it stopped waiting and how to look the job up, and exits 130 as a Ctrl-C of the watch does', async () => {
    // The gateway's side: the POST queues JOB, a subscribe replays its story to the end, and every
    // read of it after that is answered 503 (the gateway not ready): the watch waits on that read.
    const reads: string[] = [];
    const http = createServer((request, response) => {
      if (request.method === 'POST') return void response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: JOB, status: 'queued' }));
      reads.push(request.url ?? '');
      response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } }));
    });
    const io = new Server(http);
    io.on('connection', (socket) => {
      socket.on('subscribe', (_message: unknown, ack: (reply: unknown) => void) => {
        ack({ ok: true, status: 'running' });
        socket.emit('job:queued', { jobId: JOB, seq: 1 });
        socket.emit('job:completed', { jobId: JOB, seq: 2, assets: [] });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, [CLI, '--url', url, 'generate', '-c', 'kai', '-p', 'a rooftop', '--watch'], {
      env: { ...process.env, ANIME_API_KEY: 'ak_test', ANIME_CONFIG_DIR: '/nonexistent' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitFor(() => /waiting up to 30 s to read how/.test(stderr), 'the watch to wait on the read of the ended job', 15_000, 50);
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 130, signal: null });
      expect(reads.length).toBeGreaterThanOrEqual(1);
      expect(stderr.trimEnd().split('\n').at(-1)).toBe(`anime: stopped waiting to read how ${JOB} ended; the generation has ended (anime show ${JOB} tells how)`);
    } finally {
      child.kill('SIGKILL');
      const closed = new Promise((resolve) => io.close(resolve));
      http.closeAllConnections();
      await closed;
    }
  }, 30_000);
});
