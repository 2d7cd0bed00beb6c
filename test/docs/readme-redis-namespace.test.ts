import { readFileSync } from 'node:fs';
import path from 'node:path';
import { backendChangesChannel, generationEventsStream, jobControlChannel, jobEventsChannel } from '@anime/contracts';

// Pub/sub channels span every database index of a Redis server: the README must say that a database
// index does not separate deployments, and name every channel a deployment uses under its prefix.
const README = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
const PREFIX = '<QUEUE_PREFIX>';

describe("README on what a deployment keeps in Redis", () => {
  it('when read, then the Redis users section names every channel and the stream under QUEUE_PREFIX and says a database index does not separate deployments', () => {
    const start = README.indexOf('\n## Redis users\n');
    const text = README.slice(start, README.indexOf('\n## ', start + 4));
    for (const name of [jobEventsChannel(PREFIX), jobControlChannel(PREFIX), backendChangesChannel(PREFIX), generationEventsStream(PREFIX), `${PREFIX}:socket.io`]) {
      expect(text).toContain(`\`${name}`);
    }
    expect(text).toContain('**even on different database indexes**');
  });

  it('when read, then the QUEUE_PREFIX row says deployments sharing a Redis server need different prefixes', () => {
    const row = README.split('\n').find((line) => line.startsWith('| `QUEUE_PREFIX` |'));
    expect(row).toContain('deployments sharing a Redis server need different prefixes, also on different database indexes');
  });
});
