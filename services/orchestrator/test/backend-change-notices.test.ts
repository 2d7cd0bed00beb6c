import { backendChangesChannel } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createRedis, JobControlPublisher } from '@anime/pipeline';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { listenForBackendChanges } from '../src/domain/backends/backend-change-notices';

describe('listenForBackendChanges', () => {
  it('when the gateway publishes a backend change, then onChange is called; a malformed message or another channel is ignored; stop closes the connection', async () => {
    const prefix = uniqueQueuePrefix('backend-notices');
    const publisher = createRedis(TEST_REDIS_URL);
    const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
    let changes = 0;
    const stop = await listenForBackendChanges({ subscriber, queuePrefix: prefix, log: createLogger('orchestrator', 'error'), onChange: () => changes++ });
    try {
      await new JobControlPublisher(publisher, prefix).backendChanged('aaaaaaaaaaaa');
      await waitFor(() => changes === 1, 'the notice');
      await publisher.publish(backendChangesChannel(prefix), 'not json');
      await publisher.publish(backendChangesChannel('elsewhere'), JSON.stringify({ type: 'backend-changed', backendId: 'x' }));
      await new JobControlPublisher(publisher, prefix).backendChanged('bbbbbbbbbbbb');
      await waitFor(() => changes === 2, 'the second notice');
      expect(changes).toBe(2);
    } finally {
      await stop();
      publisher.disconnect();
      await removeQueueKeys(prefix);
    }
    expect(subscriber.status).not.toBe('ready');
  });
});
