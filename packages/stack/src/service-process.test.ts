import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceProcess } from './service-process';

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
    writeFileSync(
      preload,
      `const mode = process.env.EXIT_MODE;
if (mode === 'silent') process.exit(3);
if (mode === 'lines') { console.error('opening the database'); console.error('fatal: DATABASE_URL refused'); process.exit(4); }
if (mode === 'no-newline') { process.stderr.write('fatal: half a line'); process.exit(5); }
`,
    );
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
