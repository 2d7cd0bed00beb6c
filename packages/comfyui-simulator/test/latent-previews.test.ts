import { startSimulator, type Simulator } from '../src';
import { textToImage } from '../src/sample-workflows';
import { postJson, waitForHistory } from './helpers/http';
import { WsRecorder, type WsFrame } from './helpers/ws-recorder';

const JPEG_SOI = Buffer.from([0xff, 0xd8, 0xff]);
const u32 = (bytes: Buffer, at: number) => bytes.readUInt32BE(at);

/** Each frame as a short label: a message's type, or a binary frame's event type. */
const label = (frame: WsFrame) => (frame.binary ? `binary(${u32(frame.bytes, 0)})` : frame.message.type);
/** The frame's message when it is text and of `type`. */
const textOf = (frame: WsFrame, type: string) => (!frame.binary && frame.message.type === type ? frame.message : undefined);

function framesOfRun(recorder: WsRecorder, from: number, promptId: string): WsFrame[] {
  const frames = recorder.frames.slice(from);
  const end = frames.findIndex((f) => !f.binary && f.message.type === 'executing' && f.message.data.node === null && f.message.data.prompt_id === promptId);
  return end === -1 ? frames : frames.slice(0, end + 1);
}

async function run(sim: Simulator, recorder: WsRecorder, body: Record<string, unknown>): Promise<{ promptId: string; frames: WsFrame[] }> {
  const from = recorder.frames.length;
  const response = await postJson(sim.url, '/prompt', body);
  expect(response.status).toBe(200);
  const promptId = response.json.prompt_id as string;
  if (typeof body.client_id === 'string') await recorder.untilDone(promptId, 0);
  else await waitForHistory(sim.url, promptId);
  // Binary frames queued behind the last text frame have arrived by the next tick.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { promptId, frames: framesOfRun(recorder, from, promptId) };
}

/**
 * Latent previews (comfyui-protocol.md §6.3; latent_preview.prepare_callback, main.hijack_progress,
 * comfy_execution/progress.py, server.send_image / send_image_with_metadata): with a --preview-method
 * other than none, each sampler step sends a JPEG as a binary frame to the prompt's client.
 */
describe('latent previews', () => {
  describe('with ComfyUI’s default --preview-method none', () => {
    let sim: Simulator;
    let ws: WsRecorder;
    beforeAll(async () => {
      sim = await startSimulator({ stepMs: 1 });
      ws = await WsRecorder.connect(sim.url, 'plain');
    });
    afterAll(async () => {
      ws.close();
      await sim.close();
    });

    it('when a sampler runs, then no binary frame is sent', async () => {
      const { frames } = await run(sim, ws, { prompt: textToImage({ steps: 3 }), client_id: 'plain' });
      expect(frames.filter((f) => textOf(f, 'progress'))).toHaveLength(3);
      expect(frames.filter((f) => f.binary)).toEqual([]);
    });
  });

  describe('with --preview-method auto', () => {
    let sim: Simulator;
    let plain: WsRecorder;
    let negotiated: WsRecorder;
    let bystander: WsRecorder;
    beforeAll(async () => {
      sim = await startSimulator({ stepMs: 1, previewMethod: 'auto' });
      plain = await WsRecorder.connect(sim.url, 'plain');
      negotiated = await WsRecorder.connect(sim.url, 'negotiated');
      negotiated.send({ type: 'feature_flags', data: { supports_preview_metadata: true } });
      await negotiated.waitFor((m) => m.type === 'feature_flags');
      bystander = await WsRecorder.connect(sim.url, 'bystander');
    });
    afterAll(async () => {
      for (const recorder of [plain, negotiated, bystander]) recorder.close();
      await sim.close();
    });

    it('when a client that negotiated nothing runs a sampler, then each progress is followed by a format-1 JPEG frame, to it alone', async () => {
      const bystanderFrom = bystander.frames.length;
      const { frames } = await run(sim, plain, { prompt: textToImage({ steps: 3, seed: 1 }), client_id: 'plain' });
      const sampler = frames.slice(frames.findIndex((f) => textOf(f, 'executing')?.data.node === '3'));
      expect(sampler.slice(0, 10).map(label)).toEqual([
        'executing', 'progress_state', 'progress', 'binary(1)', 'progress_state', 'progress', 'binary(1)', 'progress_state', 'progress', 'binary(1)',
      ]);
      const previews = frames.filter((f): f is Extract<WsFrame, { binary: true }> => f.binary);
      expect(previews).toHaveLength(3);
      for (const { bytes } of previews) {
        // [1 PREVIEW_IMAGE][1 = JPEG][the JPEG]
        expect(u32(bytes, 4)).toBe(1);
        expect(bytes.subarray(8, 11)).toEqual(JPEG_SOI);
      }
      expect(bystander.frames.slice(bystanderFrom).filter((f) => f.binary)).toEqual([]);
    });

    it('when a client negotiated supports_preview_metadata, then each step sends a format-4 frame naming the node and prompt before its progress', async () => {
      const { promptId, frames } = await run(sim, negotiated, { prompt: textToImage({ steps: 2, seed: 2 }), client_id: 'negotiated' });
      const sampler = frames.slice(frames.findIndex((f) => textOf(f, 'executing')?.data.node === '3'));
      expect(sampler.slice(0, 7).map(label)).toEqual(['executing', 'progress_state', 'binary(4)', 'progress', 'progress_state', 'binary(4)', 'progress']);
      const preview = frames.find((f): f is Extract<WsFrame, { binary: true }> => f.binary)!.bytes;
      // [4 PREVIEW_IMAGE_WITH_METADATA][json length][json.dumps(metadata)][the JPEG]
      const length = u32(preview, 4);
      const json = preview.subarray(8, 8 + length).toString('utf8');
      expect(json).toBe(`{"node_id": "3", "prompt_id": "${promptId}", "display_node_id": "3", "parent_node_id": null, "real_node_id": "3", "image_type": "image/jpeg"}`);
      expect(preview.subarray(8 + length, 11 + length)).toEqual(JPEG_SOI);
    });

    it('when a prompt has no client_id, then its previews go to every socket in format 1', async () => {
      const from = bystander.frames.length;
      const { frames } = await run(sim, plain, { prompt: textToImage({ steps: 2, seed: 3 }) });
      expect(frames.filter((f) => f.binary).map(label)).toEqual(['binary(1)', 'binary(1)']);
      expect(bystander.frames.slice(from).filter((f) => f.binary).map(label)).toEqual(['binary(1)', 'binary(1)']);
    });
  });
});
