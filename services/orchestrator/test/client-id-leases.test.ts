import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { removeQueueKeys, startTcpProxy, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { RedisClientIdLeases } from '../src/domain/backends/client-id-leases';

describe('RedisClientIdLeases (which process may listen under a ComfyUI clientId)', () => {
  const prefix = uniqueQueuePrefix('client-id-leases');
  const redis = createRedis(TEST_REDIS_URL);
  const log = createLogger('orchestrator', 'error');
  const leasesOf = (ownIds: string[], leaseMs?: number) => new RedisClientIdLeases({ redis, queuePrefix: prefix, log, ownIds: () => ownIds, leaseMs });

  afterAll(async () => {
    await removeQueueKeys(prefix);
    redis.disconnect();
  });

  it('when a live process holds its own ids, then no other process gets them; once it stops cleanly, one other process gets each', async () => {
    const owner = leasesOf(['orch-a1', 'orch-a2']);
    await owner.start();
    const resumer = leasesOf([]);
    const another = leasesOf([]);
    try {
      expect(await resumer.hold('orch-a1')).toBe(false);
      expect(await resumer.hold('orch-a2')).toBe(false);
    } finally {
      await owner.stop();
    }
    expect(await resumer.hold('orch-a1')).toBe(true);
    expect(await resumer.hold('orch-a1')).toBe(true);
    expect(await another.hold('orch-a1')).toBe(false);
    // Another's release gives nothing up.
    await another.release('orch-a1');
    expect(await another.hold('orch-a1')).toBe(false);
    await resumer.release('orch-a1');
    expect(await another.hold('orch-a1')).toBe(true);
    await another.release('orch-a1');
  });

  it('when the holding process dies (no renewal, no stop), then its ids are free once the lease ran out', async () => {
    const crashed = leasesOf([], 400);
    expect(await crashed.hold('orch-b1')).toBe(true);
    const resumer = leasesOf([]);
    expect(await resumer.hold('orch-b1')).toBe(false);
    await waitFor(async () => ((await resumer.hold('orch-b1')) ? true : null), 'the lease to run out', 5_000, 50);
    await resumer.release('orch-b1');
  });

  it('when an owner comes back after its lease ran out and another process took its id, then its renewals leave that hold alone', async () => {
    const resumer = leasesOf([]);
    expect(await resumer.hold('orch-d1')).toBe(true);
    const returning = leasesOf(['orch-d1']);
    await returning.start();
    await returning.stop();
    expect(await resumer.hold('orch-d1')).toBe(true);
    expect(await leasesOf([]).hold('orch-d1')).toBe(false);
    await resumer.release('orch-d1');
  });

  it('when Redis does not answer, then no id is lent', async () => {
    const redisAt = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: redisAt.hostname, port: Number(redisAt.port || 6379) });
    const cut = createRedis(proxy.urlFor(TEST_REDIS_URL), 'worker');
    try {
      const leases = new RedisClientIdLeases({ redis: cut, queuePrefix: prefix, log, ownIds: () => [] });
      expect(await leases.hold('orch-c1')).toBe(true);
      await leases.release('orch-c1');
      proxy.blackHole();
      expect(await leases.hold('orch-c2')).toBe(false);
    } finally {
      cut.disconnect();
      await proxy.close();
    }
  });
});
