import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient, ComfyTransferError, ComfyUnreachableError } from '../src';

/**
 * GET /view over a slow or stalling link (the simulator pacing the file): a file that keeps coming
 * arrives however long it takes at a fair rate; one that stops, or trickles, is cut off with an error
 * saying which, never taken for an unreachable server. The request timeout is 1 s here (30 s by default).
 */
describe('ComfyClient.view on a slow link (simulator pacing /view)', () => {
  let sim: Simulator;
  let client: ComfyClient;
  const file = randomBytes(300_000);

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 1 });
    client = new ComfyClient({ baseUrl: sim.url, requestTimeoutMs: 1_000 });
    await writeFile(path.join(sim.outputDir, 'large.png'), file);
  });

  afterEach(() => sim.misbehave(undefined));

  afterAll(async () => {
    client.close();
    await sim.close();
  });

  it('when a file comes steadily at 100 KB/s for 3 s, three times the request timeout, then it arrives whole', async () => {
    sim.misbehave({ kind: 'view_paced', bytesPerSecond: 100_000 });
    const asked = Date.now();
    const bytes = await client.view({ filename: 'large.png' });
    expect(bytes.equals(file)).toBe(true);
    expect(Date.now() - asked).toBeGreaterThan(2_500);
  });

  it('when the file stops arriving part way, then after 1 s without a byte it is a ComfyTransferError saying it stalled, and how much came', async () => {
    sim.misbehave({ kind: 'view_paced', bytesPerSecond: 100_000, stallAfter: 50_000 });
    const asked = Date.now();
    const error = await client.view({ filename: 'large.png' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyTransferError);
    expect(error).not.toBeInstanceOf(ComfyUnreachableError);
    expect(error).toMatchObject({ reason: 'stalled', bytesReceived: 50_000 });
    expect(error.message).toBe(`ComfyUI at ${sim.url} stalled sending GET /view: no byte for 1 s after 50000 bytes of the answer`);
    // 0.5 s of sending, then 1 s of silence.
    expect(Date.now() - asked).toBeLessThan(2_500);
  });

  it('when the file trickles (100 bytes/s: a byte never 1 s late, yet days for the whole), then it is cut off as too slow once its allowance is over', async () => {
    sim.misbehave({ kind: 'view_paced', bytesPerSecond: 100 });
    const asked = Date.now();
    const error = await client.view({ filename: 'large.png' }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyTransferError);
    expect(error.reason).toBe('too_slow');
    expect(error.message).toMatch(new RegExp(`^ComfyUI at ${sim.url} sent GET /view too slowly: \\d+ bytes of the answer came in the time allowed \\(1 s plus 1 s per 32 KiB arrived\\)$`));
    expect(Date.now() - asked).toBeLessThan(2_000);
  });

  it('when the server does not answer at all within the request timeout, then it is still ComfyUnreachableError (ECONNABORTED)', async () => {
    let answer!: () => void;
    sim.misbehave({ kind: 'held', path: '/view', until: new Promise<void>((resolve) => (answer = resolve)) });
    try {
      const error = await client.view({ filename: 'large.png' }).catch((e) => e);
      expect(error).toBeInstanceOf(ComfyUnreachableError);
      expect(error.message).toBe(`ComfyUI at ${sim.url} unreachable (GET /view: ECONNABORTED)`);
    } finally {
      answer();
    }
  });
});
