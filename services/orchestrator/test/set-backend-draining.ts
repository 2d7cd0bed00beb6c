import type { Simulator } from '@anime/comfyui-simulator';
import { createRedis, JobControlPublisher } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { backendIdFor } from '../src/domain/backends/backend-id';
import type { OrchestratorFixture } from './orchestrator-fixture';

/**
 * Drains or undrains a backend as the gateway's route does (the row, then the backend-changes
 * notice), and waits for the orchestrator to see it: read at once on the notice (else at the
 * periodic read, every 2 s), its metrics tell.
 */
export async function setBackendDraining(fx: OrchestratorFixture, sim: Simulator, draining: boolean): Promise<void> {
  await fx.db.backend.update({ where: { id: backendIdFor(sim.url) }, data: { draining, drainedAt: draining ? new Date() : null } });
  const publisher = createRedis(TEST_REDIS_URL);
  try {
    await new JobControlPublisher(publisher, fx.service.ctx.queuePrefix).backendChanged(backendIdFor(sim.url));
  } finally {
    publisher.disconnect();
  }
  await waitFor(async () => {
    const text = await (await fetch(`http://127.0.0.1:${fx.service.ops.port()}/metrics`)).text();
    return text.includes(`anime_backend_state{backend="${new URL(sim.url).origin}",state="draining"} ${draining ? 1 : 0}`);
  }, `the orchestrator to see ${sim.url} ${draining ? 'draining' : 'taking jobs'}`, 10_000);
}
