import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from './create-logger';

/** The lines a service's logger writes, captured in place of stdout. */
function capturedLogger() {
  const lines: string[] = [];
  const log = createLogger('test', 'info');
  log.clear();
  log.add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) }));
  return { log, lines };
}

describe('createLogger: no secret reaches a line', () => {
  it('when a message, a value, a nested value or an error names a URL with a password (REDIS_URL, DATABASE_URL, COMFYUI_URLS), then the line has *** in its place', async () => {
    const { log, lines } = capturedLogger();
    log.warn('redis error at rediss://anime:R3d1sPw@cache:6380/6', { backend: 'http://gpu:G9uPw@gpu-1:8188', nested: { database: 'postgresql://anime:Pg5ecret@db:5432/anime' } });
    log.error('stage failed', new Error('ComfyUI at http://ops:C0mfyPw@gpu-2:8188 unreachable (GET /queue: ECONNREFUSED)'));
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('');
    expect(lines).toHaveLength(2);
    for (const password of ['R3d1sPw', 'G9uPw', 'Pg5ecret', 'C0mfyPw']) expect(text).not.toContain(password);
    expect(text).toContain('rediss://***@cache:6380/6');
    expect(text).toContain('http://***@gpu-1:8188');
    expect(text).toContain('postgresql://***@db:5432/anime');
    expect(text).toContain('ComfyUI at http://***@gpu-2:8188 unreachable');
  });

  it('when metadata is named like a secret, then its value is [redacted]; a URL without credentials and an e-mail address are kept', async () => {
    const { log, lines } = capturedLogger();
    log.info('request', { authorization: 'Bearer ak_live_x', backend: 'http://gpu-1:8188', contact: 'ops@example.com' });
    await new Promise((resolve) => setImmediate(resolve));
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ authorization: '[redacted]', backend: 'http://gpu-1:8188', contact: 'ops@example.com' });
  });
});
