import type { Redis } from 'ioredis';
import { backendChangeMessageSchema, backendChangesChannel, parseChannelMessage } from '@anime/contracts';
import type { Logger } from '@anime/logger';

/**
 * The gateway's notices that a backend's drain flag changed (backend-changes channel), on a
 * subscriber connection of its own. Each notice, and each (re)connection (notices may have been
 * missed meanwhile), calls `onChange`; the periodic read bounds how stale the flags get if one is lost.
 * Returns the function that stops listening and closes the connection.
 */
export async function listenForBackendChanges(deps: { subscriber: Redis; queuePrefix: string; log: Logger; onChange: () => void }): Promise<() => Promise<void>> {
  const channel = backendChangesChannel(deps.queuePrefix);
  deps.subscriber.on('message', (from: string, raw: string) => {
    if (from !== channel) return;
    if (!parseChannelMessage(backendChangeMessageSchema, raw)) {
      deps.log.warn('ignored a malformed backend change message', { channel });
      return;
    }
    deps.onChange();
  });
  await deps.subscriber.subscribe(channel);
  // After the first subscription: a reconnection re-subscribes, and what was published meanwhile is lost.
  deps.subscriber.on('ready', () => deps.onChange());
  return async () => {
    await deps.subscriber.unsubscribe().catch(() => undefined);
    deps.subscriber.disconnect();
  };
}
