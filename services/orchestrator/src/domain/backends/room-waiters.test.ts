import { RoomWaiters, type RoomWaiter } from './room-waiters';

const waiter = (rank: number, since: number, backends: string[], mayHandBack = true): RoomWaiter => ({ rank, since, backends, key: mayHandBack ? `job-${since}` : undefined, evicted: false });

describe('RoomWaiters', () => {
  it('when a backend has as many waiting as places, then a job for it alone is not admitted, but one that another full backend could run is', () => {
    const waiters = new RoomWaiters();
    waiters.add(waiter(5, 1, ['http://a']));
    waiters.add(waiter(5, 2, ['http://a', 'http://b']));
    expect([waiters.countFor('http://a'), waiters.countFor('http://b')]).toEqual([2, 1]);
    expect(waiters.admit(['http://a'], 5, 2)).toEqual({ admitted: false });
    expect(waiters.admit(['http://a', 'http://b'], 5, 2)).toEqual({ admitted: true });
  });

  it('when a more urgent job finds no place to wait, then the least urgent that may be handed back (the last to come among them) gives up its wait; one that may not, or as urgent, never does', () => {
    const waiters = new RoomWaiters();
    const normal = waiter(5, 1, ['http://a']);
    const firstBatch = waiter(10, 2, ['http://a']);
    const lastBatch = waiter(10, 3, ['http://a']);
    const failover = waiter(10, 4, ['http://a'], false);
    const elsewhere = waiter(10, 5, ['http://b']);
    for (const w of [normal, firstBatch, lastBatch, failover, elsewhere]) waiters.add(w);
    expect(waiters.admit(['http://a'], 10, 2)).toEqual({ admitted: false });
    const { admitted, evicted } = waiters.admit(['http://a'], 1, 2);
    expect([admitted, evicted]).toEqual([true, lastBatch]);
    expect([lastBatch.evicted, waiters.has(lastBatch), waiters.size]).toEqual([true, false, 4]);
    // Each admitted job waits in the place of the one it displaced (as acquire adds it).
    waiters.add(waiter(1, 6, ['http://a']));
    expect(waiters.admit(['http://a'], 1, 2).evicted).toBe(firstBatch);
    waiters.add(waiter(1, 7, ['http://a']));
    expect(waiters.admit(['http://a'], 1, 2).evicted).toBe(normal);
    waiters.add(waiter(1, 8, ['http://a']));
    expect(waiters.admit(['http://a'], 1, 2)).toEqual({ admitted: false });
    expect(failover.evicted).toBe(false);
  });

  it('when jobs promoted for a backend are on their way, then they count as waiting there: a job back on its own delay does not take the place they come for', () => {
    const waiters = new RoomWaiters();
    waiters.add(waiter(5, 1, ['http://a']));
    const coming = (url: string) => (url === 'http://a' ? 1 : 0);
    expect(waiters.admit(['http://a'], 5, 2)).toEqual({ admitted: true });
    expect(waiters.admit(['http://a'], 5, 2, coming)).toEqual({ admitted: false });
    expect(waiters.admit(['http://a', 'http://b'], 5, 2, coming)).toEqual({ admitted: true });
  });
});
