import { collectDefaultMetrics, type Registry } from 'prom-client';

// prom-client names these gauges with a `_total` suffix, which Prometheus reserves for counters
// (`promtool check metrics` refuses them); the same counts stay available, by type, without it
// (nodejs_active_handles, nodejs_active_requests, nodejs_active_resources).
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** prom-client's process and Node.js metrics on `registry`, labelled with the service. */
export function collectProcessMetrics(registry: Registry, service: string): void {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
}
