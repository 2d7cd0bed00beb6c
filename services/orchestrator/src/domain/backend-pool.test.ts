import { createLogger } from '@anime/logger';
import { BackendPool } from './backend-pool';

const log = createLogger('backend-pool-test', 'error');

describe('BackendPool', () => {
  // Clients connect only on connect(); none is opened here.
  const pool = () => new BackendPool(['http://a', 'http://b', 'http://c'], log);

  it('when every backend is idle, then jobs go to each in turn', () => {
    const p = pool();
    const leases = [p.acquire(), p.acquire(), p.acquire()];
    expect(leases.map((l) => l.url)).toEqual(['http://a', 'http://b', 'http://c']);
  });

  it('when one backend finished its job, then the next job goes to it rather than to a busy one', () => {
    const p = pool();
    const [a, b, c] = [p.acquire(), p.acquire(), p.acquire()];
    b.release();
    expect(p.acquire().url).toBe('http://b');
    expect([a.url, c.url]).toEqual(['http://a', 'http://c']);
  });

  it('when a lease is released twice, then the count drops once', () => {
    const p = pool();
    const a = p.acquire();
    p.acquire();
    a.release();
    a.release();
    expect(p.load('http://a')).toBe(0);
    expect(p.load('http://b')).toBe(1);
  });

  it('when a job resumes on its backend, then that backend is held; an unknown one gives null', () => {
    const p = pool();
    const resumed = p.acquireExisting('http://c')!;
    expect(resumed.url).toBe('http://c');
    expect(p.load('http://c')).toBe(1);
    expect(p.acquireExisting('http://gone')).toBeNull();
  });
});
