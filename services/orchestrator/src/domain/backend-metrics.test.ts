import { animeRegistry } from '@anime/pipeline';
import { watchBackendMetrics } from './backend-metrics';

type Snapshot = ReturnType<Parameters<typeof watchBackendMetrics>[0]['snapshot']>;

/** The value of one series in the text a scrape serves, or undefined when it is not served. */
const valueOf = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('watchBackendMetrics', () => {
  it('when one backend is down stuck on a prompt and another down unanswering, then anime_backend_stuck tells them apart (1 and 0), and an up one is 0', async () => {
    let backends: Snapshot = [
      { url: 'http://user:secret@gpu-1:8188/', state: 'down', inFlight: 0, capacity: 2, stuck: true },
      { url: 'http://gpu-2:8188', state: 'down', inFlight: 0, capacity: 2, stuck: false },
      { url: 'http://gpu-3:8188', state: 'up', inFlight: 1, capacity: 2, stuck: false },
    ];
    const stop = watchBackendMetrics({ snapshot: () => backends });
    try {
      let text = await animeRegistry.metrics();
      expect(valueOf(text, 'anime_backend_state{backend="http://gpu-1:8188",state="down"}')).toBe(1);
      expect(valueOf(text, 'anime_backend_state{backend="http://gpu-2:8188",state="down"}')).toBe(1);
      expect(valueOf(text, 'anime_backend_stuck{backend="http://gpu-1:8188"}')).toBe(1);
      expect(valueOf(text, 'anime_backend_stuck{backend="http://gpu-2:8188"}')).toBe(0);
      expect(valueOf(text, 'anime_backend_stuck{backend="http://gpu-3:8188"}')).toBe(0);
      expect(valueOf(text, 'anime_backend_busy_ratio{backend="http://gpu-3:8188"}')).toBe(0.5);
      expect(text).not.toContain('secret');

      // ComfyUI let go of the prompt: the next scrape reads it up and no longer stuck.
      backends = [{ ...backends[0], state: 'up', stuck: false }];
      text = await animeRegistry.metrics();
      expect(valueOf(text, 'anime_backend_stuck{backend="http://gpu-1:8188"}')).toBe(0);
      expect(valueOf(text, 'anime_backend_stuck{backend="http://gpu-2:8188"}')).toBeUndefined();
    } finally {
      stop();
    }
    expect(await animeRegistry.getSingleMetricAsString('anime_backend_stuck')).not.toMatch(/^anime_backend_stuck\{/m);
  });
});
