import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { textToImage } from '../src/sample-workflows';

const MAIN = join(__dirname, '..', 'src', 'main.ts');

function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/comfyui-simulator listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, url };
}

describe('the simulator CLI', () => {
  it('when started with --port 0, then it prints its URL, serves, and exits 0 on SIGTERM', async () => {
    const { child, url } = startCli(['--port', '0', '--step-ms', '1']);
    try {
      const base = await url;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${base}/system_stats`)).status).toBe(200);
      const failNext = await fetch(`${base}/sim/fail-next`, { method: 'POST', body: JSON.stringify({ kind: 'execution_error', message: 'boom' }) });
      expect(failNext.status).toBe(200);

      const bytes = Buffer.from('not checked by the upload route');
      const form = new FormData();
      form.append('image', new Blob([bytes]), 'ref.png');
      form.append('subfolder', 'refs');
      expect((await fetch(`${base}/upload/image`, { method: 'POST', body: form })).status).toBe(200);
      const uploads = await (await fetch(`${base}/sim/uploads`)).json();
      expect(uploads).toEqual({ uploads: [{ name: 'ref.png', subfolder: 'refs', type: 'input', sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }] });

      // Every accepted POST /prompt is listed with its id, client id and graph; a refused one is not.
      const prompt = textToImage({ positive: 'listed prompt' });
      const queued = (await (await fetch(`${base}/prompt`, { method: 'POST', body: JSON.stringify({ prompt, client_id: 'client-1' }) })).json()) as { prompt_id: string };
      expect((await fetch(`${base}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } } }) })).status).toBe(400);
      expect(await (await fetch(`${base}/sim/prompts`)).json()).toEqual({ prompts: [{ promptId: queued.prompt_id, clientId: 'client-1', prompt }] });
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('when a prompt runs, then GET /sim/progress lists each progress message sent with its epoch send time', async () => {
    const { child, url } = startCli(['--port', '0', '--step-ms', '1']);
    try {
      const base = await url;
      const before = Date.now();
      const queued = (await (await fetch(`${base}/prompt`, { method: 'POST', body: JSON.stringify({ prompt: textToImage({ steps: 3 }) }) })).json()) as { prompt_id: string };
      let progress: { promptId: string; node: string; value: number; max: number; sentAt: number }[] = [];
      for (let tries = 0; tries < 200 && progress.length < 3; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        ({ progress } = (await (await fetch(`${base}/sim/progress`)).json()) as { progress: typeof progress });
      }
      expect(progress.map(({ promptId, value, max }) => ({ promptId, value, max }))).toEqual([1, 2, 3].map((value) => ({ promptId: queued.prompt_id, value, max: 3 })));
      for (const p of progress) {
        expect(typeof p.node).toBe('string');
        expect(p.sentAt).toBeGreaterThanOrEqual(before - 1);
        expect(p.sentAt).toBeLessThanOrEqual(Date.now() + 1);
      }
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('when SIM_PORT is set, then it is used; --help prints usage', async () => {
    const help = startCli(['--help']);
    help.url.catch(() => undefined);
    let text = '';
    help.child.stdout!.on('data', (chunk) => (text += chunk));
    await new Promise((resolve) => help.child.once('exit', resolve));
    expect(text).toContain('--step-ms');

    const { child, url } = startCli([], { SIM_PORT: '0', SIM_STEP_MS: '1' });
    try {
      expect(await url).toMatch(/:\d+$/);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
  });
});
