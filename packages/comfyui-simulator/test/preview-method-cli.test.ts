import { textToImage } from '../src/sample-workflows';
import { startCli, stopCli } from './helpers/cli-process';
import { postJson } from './helpers/http';
import { WsRecorder } from './helpers/ws-recorder';

/** Binary frames a client hears while one prompt of its own runs to its end. */
async function binaryFramesOfOneRun(base: string): Promise<Buffer[]> {
  const ws = await WsRecorder.connect(base, 'cli-client');
  try {
    const response = await postJson(base, '/prompt', { prompt: textToImage({ steps: 2 }), client_id: 'cli-client' });
    expect(response.status).toBe(200);
    await ws.untilDone(response.json.prompt_id, 0);
    return ws.frames.flatMap((frame) => (frame.binary ? [frame.bytes] : []));
  } finally {
    ws.close();
  }
}

describe('the simulator CLI with a preview method', () => {
  it('when started without one, then sampler steps send no preview, as ComfyUI’s default (none)', async () => {
    const cli = startCli(['--port', '0', '--step-ms', '1'], { SIM_PREVIEW_METHOD: '' });
    try {
      expect(await binaryFramesOfOneRun(await cli.url)).toEqual([]);
    } finally {
      expect(await stopCli(cli)).toBe(0);
    }
  });

  it('when --preview-method auto is given, or SIM_PREVIEW_METHOD=latent2rgb, then each step sends a format-1 preview', async () => {
    const fromFlag = startCli(['--port', '0', '--step-ms', '1', '--preview-method', 'auto']);
    const fromEnv = startCli(['--port', '0', '--step-ms', '1'], { SIM_PREVIEW_METHOD: 'latent2rgb' });
    try {
      for (const base of [await fromFlag.url, await fromEnv.url]) {
        const frames = await binaryFramesOfOneRun(base);
        expect(frames.map((bytes) => [bytes.readUInt32BE(0), bytes.readUInt32BE(4)])).toEqual([
          [1, 1],
          [1, 1],
        ]);
      }
    } finally {
      await Promise.all([stopCli(fromFlag), stopCli(fromEnv)]);
    }
  });

  it('when the method is unknown, then it exits 2 naming the known ones', async () => {
    const { code, stderr } = await startCli(['--port', '0', '--preview-method', 'sharp']).exited;
    expect(code).toBe(2);
    expect(stderr).toContain('unknown method sharp');
    expect(stderr).toContain('known: none, auto, latent2rgb, taesd');
  });
});
