import { QueueRoomBounds } from './queue-room-bounds';

const caps = { maxQueueDepth: 4, maxQueuedPerKey: 3 };

function boundsAt(start = 0) {
  const clock = { now: start };
  return { clock, bounds: new QueueRoomBounds(caps, 1_000, () => clock.now) };
}

describe('QueueRoomBounds (the queue counts a gateway vouches for between exact readings)', () => {
  it('when nothing was read for a key, then no place is taken: the counts must be read', () => {
    const { bounds } = boundsAt();
    expect(bounds.reserve('key-a')).toBe(false);
    bounds.record('key-a', { depth: 0, ofKey: 0 });
    expect(bounds.reserve('key-b')).toBe(false);
  });

  it('when a reading leaves room, then places are taken on it until a cap is reached, each counting on both bounds', () => {
    const { bounds } = boundsAt();
    bounds.record('key-a', { depth: 1, ofKey: 1 });
    expect(bounds.reserve('key-a')).toBe(true); // depth 2, key 2
    expect(bounds.reserve('key-a')).toBe(true); // depth 3, key 3
    expect(bounds.reserve('key-a')).toBe(false); // the key's cap
    bounds.record('key-b', { depth: 3, ofKey: 0 });
    expect(bounds.reserve('key-b')).toBe(true); // depth 4
    expect(bounds.reserve('key-b')).toBe(false); // the queue's cap, whatever the key's room
  });

  it('when a generation is admitted on a reading, then it counts until the next reading', () => {
    const { bounds } = boundsAt();
    bounds.record('key-a', { depth: 2, ofKey: 2 });
    bounds.admitted('key-a'); // depth 3, key 3
    expect(bounds.reserve('key-a')).toBe(false);
    bounds.record('key-a', { depth: 0, ofKey: 0 }); // generations ended meanwhile: a new reading shows it
    expect(bounds.reserve('key-a')).toBe(true);
  });

  it('when a reading is older than its time, then it vouches for nothing: the counts are read again', () => {
    const { bounds, clock } = boundsAt();
    bounds.record('key-a', { depth: 0, ofKey: 0 });
    clock.now = 1_000;
    expect(bounds.reserve('key-a')).toBe(true);
    clock.now = 1_001;
    expect(bounds.reserve('key-a')).toBe(false);
  });

  it('when a key was read by its hash, then its id is known by that hash; a key never read is not', () => {
    const { bounds } = boundsAt();
    bounds.record('key-a', { depth: 0, ofKey: 0 }, 'hash-a');
    expect(bounds.keyOf('hash-a')).toBe('key-a');
    expect(bounds.keyOf('hash-b')).toBeUndefined();
  });

  it('when ten thousand keys are held, then a new one drops the stale ones first, so the bounds stay bounded', () => {
    const { bounds, clock } = boundsAt();
    for (let i = 0; i < 10_000; i++) bounds.record(`key-${i}`, { depth: 0, ofKey: 0 }, `hash-${i}`);
    clock.now = 5_000;
    bounds.record('key-new', { depth: 0, ofKey: 0 }, 'hash-new');
    expect(bounds.keyOf('hash-0')).toBeUndefined();
    expect(bounds.keyOf('hash-new')).toBe('key-new');
    expect(bounds.reserve('key-new')).toBe(true);
  });
});
