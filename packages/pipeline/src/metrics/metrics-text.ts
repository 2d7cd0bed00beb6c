import type { Registry } from 'prom-client';
import { animeRegistry } from './anime-metrics';

/** The Prometheus text a service serves: its own registry (process defaults) then the anime_* metrics. */
export async function metricsText(own: Registry): Promise<{ contentType: string; body: string }> {
  const [defaults, anime] = await Promise.all([own.metrics(), animeRegistry.metrics()]);
  return { contentType: own.contentType, body: `${defaults.trimEnd()}\n\n${anime.trimEnd()}\n` };
}
