import { collectDefaultMetrics, type Registry } from 'prom-client';
import { watchMajorCollections } from './heap-after-gc';

// prom-client names these gauges with a `_total` suffix, which Prometheus reserves for counters
// (`promtool check metrics` refuses them); the same counts stay available, by type, without it
// (nodejs_active_handles, nodejs_active_requests, nodejs_active_resources).
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * How often the event-loop delay histogram (nodejs_eventloop_lag_p50_seconds and its kin) samples
 * the loop. prom-client's 10 ms wakes every service 100 times a second, idle or not: 6.5 ms of CPU
 * per second for a bare Node process on the bench machine (1.2 at 100 ms). Ten samples a second
 * still give a 15-s scrape 150.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's process and Node.js metrics on `registry`, labelled with the service; and the heap
 * each major collection leaves (`anime_heap_after_major_gc_bytes`).
 */
export function collectProcessMetrics(registry: Registry, service: string): void {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  watchMajorCollections();
}
