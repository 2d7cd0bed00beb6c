import type { Response } from 'express';
import type { Db } from '@anime/db';
import { QueueRoomBounds } from '../../domain/queue-room-bounds';
import { QueueFullError } from '../../domain/queue-pressure';
import { requireQueueRoom, requireRetryRoom } from './queue-room';

const caps = { maxQueueDepth: 100, maxQueuedPerKey: 3 };

/** A response as the authentication middleware leaves it for `keyId`, its headers kept in `headers`. */
function responseOf(keyId: string, headers: Record<string, string> = {}): Response {
  return { locals: { caller: { keyId, name: keyId, scopes: ['generate'], projects: null } }, setHeader: (name: string, value: string) => (headers[name] = value) } as unknown as Response;
}

/**
 * A Db whose exact counts of the queue are `room` (what readQueueRoom reads, through
 * $queryRawUnsafe), and whose every generation has `status`.
 */
const dbCounting = (room: { depth: number; ofKey: number }, status = 'failed') =>
  ({ $queryRawUnsafe: async () => [room], generationJob: { findUnique: async () => ({ status }) } }) as unknown as Db;
const generation = { id: '00000000-0000-4000-8000-000000000001', apiKeyId: 'owner', source: 'api' };
const ownerFull = { depth: 1, ofKey: caps.maxQueuedPerKey };

describe('the early room check of a retry, counted in its owner’s share', () => {
  it('when the owner’s share is full, then the owner’s bound is the one marked full, and the caller’s own room is left as it was read', async () => {
    const bounds = new QueueRoomBounds(caps);
    bounds.record('caller', { depth: 0, ofKey: 0 });

    const refused = requireQueueRoom(responseOf('caller'), dbCounting({ depth: 1, ofKey: caps.maxQueuedPerKey }), bounds, { keyId: 'owner' });
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);

    expect(bounds.reserve('owner')).toBe(false);
    // The caller's share has room (0 of 3): its next generation is admitted on its bound, not counted again.
    expect(bounds.reserve('caller')).toBe(true);
  });

  it('when the owner’s share is full and the generation still failed, then the retry is refused 429 (Retry-After), the owner’s bound marked full and not the caller’s', async () => {
    const bounds = new QueueRoomBounds(caps);
    bounds.record('caller', { depth: 0, ofKey: 0 });
    const headers: Record<string, string> = {};

    await expect(requireRetryRoom(responseOf('caller', headers), dbCounting(ownerFull), bounds, generation)).rejects.toMatchObject({ status: 429, code: 'queue_full' });
    expect(headers['Retry-After']).toBeDefined();
    expect(bounds.reserve('owner')).toBe(false);
    expect(bounds.reserve('caller')).toBe(true);
  });

  it('when the owner’s share is full because a racing retry re-opened the generation, then this one is not refused for room: it passes on to the locked retry (its 409), with no Retry-After', async () => {
    const bounds = new QueueRoomBounds(caps);
    const headers: Record<string, string> = {};

    await expect(requireRetryRoom(responseOf('caller', headers), dbCounting(ownerFull, 'queued'), bounds, generation)).resolves.toBeUndefined();
    expect(headers['Retry-After']).toBeUndefined();
  });
});
