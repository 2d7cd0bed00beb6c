import { probeHost } from './probe-host';

describe('probeHost', () => {
  it.each([
    [undefined, '127.0.0.1'],
    ['', '127.0.0.1'],
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '127.0.0.1'],
    ['10.1.2.3', '10.1.2.3'],
    ['::', '[::1]'],
    ['::1', '[::1]'],
    ['fd00::2', '[fd00::2]'],
    ['localhost', 'localhost'],
    ['ops.internal', 'ops.internal'],
  ])('when OPS_HOST is %p, then the services are probed on %p', (opsHost, host) => {
    expect(probeHost(opsHost)).toBe(host);
  });
});
