import { startSimulator, type Simulator } from '@anime/comfyui-simulator';
import { ComfyClient } from '../src';

type Line = { level: string; message: string; meta?: Record<string, unknown> };

/**
 * A socket whose ComfyUI went away redials with backoff (at most every 10 s) for as long as it is
 * away. Each redial that failed was a warn line ("comfyui socket closed, reconnecting"): some 360 an
 * hour per backend and process during an outage. Now the close is at warn, the redials after it at debug.
 */
describe('ComfyClient socket lines while its ComfyUI is away (simulator stopped)', () => {
  let sim: Simulator;
  let client: ComfyClient;
  const lines: Line[] = [];
  const log = {
    debug: (message: string, meta?: Record<string, unknown>) => void lines.push({ level: 'debug', message, meta }),
    info: (message: string, meta?: Record<string, unknown>) => void lines.push({ level: 'info', message, meta }),
    warn: (message: string, meta?: Record<string, unknown>) => void lines.push({ level: 'warn', message, meta }),
    error: (message: string, meta?: Record<string, unknown>) => void lines.push({ level: 'error', message, meta }),
  };

  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5 });
  });

  afterAll(async () => {
    client?.close();
    await sim?.close().catch(() => undefined);
  });

  it('when ComfyUI stops and the socket redials several times, then one warn line says it closed and the failed redials are at debug', async () => {
    client = new ComfyClient({ baseUrl: sim.url, log });
    await client.connect();
    await sim.close();
    // Backoff 250 ms, 500, 1 s, 2 s (±25 %): at least four closes within 5 s.
    const closes = () => lines.filter((l) => /socket (still )?closed, reconnecting/.test(l.message));
    for (let i = 0; i < 100 && closes().length < 4; i++) await new Promise((r) => setTimeout(r, 100));
    expect(closes().length).toBeGreaterThanOrEqual(4);
    // Before: every one at warn.
    expect(closes().filter((l) => l.level !== 'debug')).toEqual([expect.objectContaining({ level: 'warn', message: 'comfyui socket closed, reconnecting' })]);
    expect(closes().slice(1).every((l) => l.level === 'debug' && typeof l.meta?.failedDials === 'number')).toBe(true);
  }, 20_000);
});
