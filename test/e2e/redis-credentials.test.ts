import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '@anime/contracts';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

// Another database index than the other tests use, to see that the index in REDIS_URL is honoured.
const DB_INDEX = 5;
const password = randomBytes(12).toString('hex');
const suffix = randomBytes(3).toString('hex');
const serviceUser = `anime-svc-${suffix}`;
const producerUser = `producer-${suffix}`;
const urlFor = (user: string, db = DB_INDEX) => {
  const url = new URL(TEST_REDIS_URL);
  url.username = user;
  url.password = password;
  url.pathname = `/${db}`;
  return url.toString();
};

/** The services' rule of the README's "Redis users" section, for this test's queue prefix and password. */
function readmeServiceRule(queuePrefix: string): string[] {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const line = /^ACL SETUSER anime-services (.+)$/m.exec(readme)?.[1];
  if (!line) throw new Error('README.md has no "ACL SETUSER anime-services" line');
  return line
    .split(/\s+/)
    .map((rule) => rule.replace(/^>PASSWORD$/, `>${password}`).replace(/^([~&])bull:/, `$1${queuePrefix}:`));
}

/** The producer rule of the README's "Redis users" section, for this test's queue prefix and password. */
function readmeProducerRule(queuePrefix: string): string[] {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const line = /^ACL SETUSER producer-storyboard (.+)$/m.exec(readme)?.[1];
  if (!line) throw new Error('README.md has no "ACL SETUSER producer-storyboard" line');
  return line
    .split(/\s+/)
    .map((rule) => rule.replace(/^>PASSWORD$/, `>${password}`).replace(/^~bull:/, `~${queuePrefix}:`));
}

const payload = (requestId: string) => ({ schemaVersion: 1, source: 'storyboard', requestId, character: 'kai-nakamura', prompt: 'queued by a restricted producer', steps: 2, project: 'acl' });

describe('Redis with users and passwords', () => {
  const admin = new Redis(TEST_REDIS_URL);
  let fx: StackFixture;

  beforeAll(async () => {
    // The services' user: the README's rule for the test's queue prefix, so nothing outside that prefix.
    const queuePrefix = uniqueQueuePrefix('redis-acl');
    await admin.acl('SETUSER', serviceUser, 'reset', ...readmeServiceRule(queuePrefix));
    fx = await startStackFixture('redis-acl', { redisUrl: urlFor(serviceUser), queuePrefix });
    await admin.acl('SETUSER', producerUser, 'reset', ...readmeProducerRule(fx.queuePrefix));
  }, 120_000);

  afterAll(async () => {
    // Were a connection to fall back to the default index, its keys would be there.
    if (fx) await removeQueueKeys(fx.queuePrefix);
    await fx?.close();
    await admin.acl('DELUSER', serviceUser, producerUser);
    admin.disconnect();
  });

  it('when every service connects as a password-protected user on another database index, then a generation completes and the keys live in that database', async () => {
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'over a password-protected Redis', steps: 2, project: 'acl' });
    expect(created.status).toBe(202);
    const generation = await waitForGenerationEnd(fx, created.data.id);
    expect(generation).toMatchObject({ status: 'completed', error: null });
    expect(generation.assets).toHaveLength(1);

    const file = await fx.api.get(generation.assets[0].url, { responseType: 'arraybuffer' });
    expect(file.status).toBe(200);
    expect(file.headers['content-disposition']).toBe(`attachment; filename="${path.basename(generation.assets[0].path)}"`);
    expect(file.headers['x-content-type-options']).toBe('nosniff');

    const inIndex = new Redis(urlFor(serviceUser));
    const inDefault = new Redis(urlFor(serviceUser, Number(new URL(TEST_REDIS_URL).pathname.slice(1) || 0)));
    try {
      expect((await inIndex.keys(`${fx.queuePrefix}:*`)).length).toBeGreaterThan(0);
      expect(await inDefault.keys(`${fx.queuePrefix}:*`)).toEqual([]);
    } finally {
      inIndex.disconnect();
      inDefault.disconnect();
    }
  });

  it('when a producer user has the README rule, then its plain BullMQ queue adds generation requests and nothing else', async () => {
    const connection = new Redis(urlFor(producerUser), { maxRetriesPerRequest: null });
    const requests = new Queue(QUEUES.generationRequests, { connection, prefix: fx.queuePrefix });
    const renders = new Queue(QUEUES.generationRenders, { connection, prefix: fx.queuePrefix });
    for (const queue of [requests, renders]) queue.on('error', () => {});
    try {
      const requestId = `acl-${suffix}`;
      await requests.add('resolveCharacter', payload(requestId));
      await requests.addBulk([{ name: 'resolveCharacter', data: payload(`${requestId}-bulk`) }]);
      await requests.add('resolveCharacter', payload(`${requestId}-prio`), { priority: 3, jobId: `${requestId}-prio` });

      // The stack picks them up like any other request and renders them.
      for (const id of [requestId, `${requestId}-bulk`, `${requestId}-prio`]) {
        const found = await waitFor(async () => {
          const res = await fx.api.get(`/api/v1/generations?source=storyboard&requestId=${id}`);
          return res.data.items?.[0] ?? null;
        }, `the generation of request ${id}`, 30_000);
        expect((await waitForGenerationEnd(fx, found.id)).status).toBe('completed');
      }

      // All of it went to the database index of the URL, none to the default one.
      expect(await admin.keys(`${fx.queuePrefix}:*`)).toEqual([]);

      // Another queue's keys are out of reach, to write and to read.
      await expect(renders.add('renderPrompt', { schemaVersion: 1, generationId: '00000000-0000-4000-8000-000000000000' })).rejects.toThrow(/NOPERM|can't run this command|no permissions/);
      await expect(renders.getWaitingCount()).rejects.toThrow(/NOPERM|no permissions/);
      await expect(connection.get(`${fx.queuePrefix}:asset-filing:id`)).rejects.toThrow(/NOPERM/);
      await expect(connection.keys('*')).rejects.toThrow(/NOPERM/);
      await expect(connection.publish(`${fx.queuePrefix}:job-events`, '{}')).rejects.toThrow(/NOPERM/);
    } finally {
      await requests.close();
      await renders.close();
      connection.disconnect();
    }
  }, 90_000);
});
