import { spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', 'src', 'main.ts');

describe('the simulator CLI model flags', () => {
  it('when started with --checkpoints and an empty --loras, then /models and /object_info list exactly those', async () => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), MAIN, '--port', '0', '--checkpoints', 'alpha.safetensors, beta.safetensors', '--loras', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
          const match = out.match(/listening on (http:\/\/\S+)/);
          if (match) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(await (await fetch(`${base}/models/checkpoints`)).json()).toEqual(['alpha.safetensors', 'beta.safetensors']);
      expect(await (await fetch(`${base}/models/loras`)).json()).toEqual([]);
      const info = (await (await fetch(`${base}/object_info/CheckpointLoaderSimple`)).json()) as { CheckpointLoaderSimple: { input: { required: { ckpt_name: unknown[] } } } };
      expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toEqual(['alpha.safetensors', 'beta.safetensors']);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
