import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { ServiceProcess } from './service-process';

/** Preloaded into a real program: cuts its start short, or stands in for it, as EXIT_MODE says. */
const PRELOAD = `const mode = process.env.EXIT_MODE;
if (mode === 'silent') process.exit(3);
if (mode === 'lines') { console.error('opening the database'); console.error('fatal: DATABASE_URL refused'); process.exit(4); }
if (mode === 'no-newline') { process.stderr.write('fatal: half a line'); process.exit(5); }
if (mode === 'waiting') {
  // Stands in for the service: its /readyz says it waits for FAILING for WAIT_MS, then that it is
  // starting (naming nothing) for STARTING_MS more, as a service finishing its start does, then it is ready.
  const waitedAt = Date.now() + Number(process.env.WAIT_MS);
  const readyAt = waitedAt + Number(process.env.STARTING_MS ?? 0);
  require('node:http').createServer((req, res) => {
    const ready = Date.now() >= readyAt;
    const failing = process.env.FAILING && Date.now() < waitedAt ? [process.env.FAILING] : [];
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ready ? { status: 'ready' } : { status: 'not_ready', failing }));
  }).listen(Number(process.env.WAIT_PORT), '127.0.0.1');
  setInterval(() => {}, 1000);
}
`;

/**
 * A process that dies before it is ready is described by what that run printed: the lines below a
 * colon, or "(it printed nothing)", never a colon introducing nothing, nor an earlier run's lines.
 * The child is a real program whose start a preloaded script cuts short, as EXIT_MODE says.
 */
describe('ServiceProcess: a process that exits before it is ready', () => {
  let dir: string;
  let preload: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'service-process-'));
    preload = path.join(dir, 'exit-early.cjs');
    writeFileSync(preload, PRELOAD);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const service = (mode: string) =>
    new ServiceProcess({ name: 'character', program: 'character', env: { NODE_OPTIONS: `--require ${preload}`, EXIT_MODE: mode }, readyUrl: 'http://127.0.0.1:1/readyz' });

  it('when it printed nothing, then the message says so instead of ending with a colon', async () => {
    await expect(service('silent').start()).rejects.toThrow(/^character exited with code 3 before it was ready \(it printed nothing\)$/);
  });

  it('when it printed lines, then they follow the colon, a last one without a newline included', async () => {
    await expect(service('lines').start()).rejects.toThrow(/^character exited with code 4 before it was ready:\nopening the database\nfatal: DATABASE_URL refused$/);
    await expect(service('no-newline').start()).rejects.toThrow(/^character exited with code 5 before it was ready:\nfatal: half a line$/);
  });

  it('when a restart prints nothing, then the message is about that run, not the lines an earlier run printed', async () => {
    const character = service('lines');
    await expect(character.start()).rejects.toThrow(/DATABASE_URL refused/);
    character.spec.env.EXIT_MODE = 'silent';
    await expect(character.start()).rejects.toThrow(/^character exited with code 3 before it was ready \(it printed nothing\)$/);
    expect(character.output).toEqual(['opening the database', 'fatal: DATABASE_URL refused']);
  });
});

describe('ServiceProcess: a process whose /readyz says it waits for a dependency', () => {
  let dir: string;
  let preload: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'service-process-waiting-'));
    preload = path.join(dir, 'waiting.cjs');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const waiting = async (failing: string, startingMs = 0) => {
    const port = await freePort();
    writeFileSync(preload, PRELOAD);
    // The simulator as the program (on a free port of its own): it runs on and has no /readyz to get in the way.
    return new ServiceProcess({
      name: 'character',
      program: 'simulator',
      args: ['--port', '0'],
      env: { NODE_OPTIONS: `--require ${preload}`, EXIT_MODE: 'waiting', WAIT_MS: '6000', STARTING_MS: String(startingMs), WAIT_PORT: String(port), FAILING: failing },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
  };

  it('when it names what it waits for past the start timeout, then the start waits on until it is ready, not killing it', async () => {
    const service = await waiting('redis');
    try {
      // Past 3 s it names redis (it listens well before), and is ready at 6 s.
      await service.start(3_000);
      expect(service.running).toBe(true);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('when the dependency it waited for past the start timeout answers, then the rest of its start gets the timeout again, not a kill at once', async () => {
    // Names database until 6 s, then starts (naming nothing) until 7.5 s: a gateway restarted during a
    // PostgreSQL outage over 60 s was killed the moment PostgreSQL came back, then started all over.
    const service = await waiting('database', 1_500);
    try {
      await service.start(3_000);
      expect(service.running).toBe(true);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('when it names nothing past the start timeout, then the start fails as before', async () => {
    const service = await waiting('');
    await expect(service.start(3_000)).rejects.toThrow(/^character not ready after 3000 ms/);
    expect(service.running).toBe(false);
  });
});
