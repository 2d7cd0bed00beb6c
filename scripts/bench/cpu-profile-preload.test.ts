import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PRELOAD = path.join(__dirname, 'cpu-profile-preload.cjs');

describe('cpu-profile-preload', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'cpu-profile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('when preloaded through NODE_OPTIONS with CPU_PROFILE_DIR, then the process leaves a V8 CPU profile there as it exits, even by process.exit', () => {
    const program = path.join(dir, 'svc', 'dist', 'main.js');
    execFileSync(process.execPath, ['-e', `require('fs').mkdirSync(${JSON.stringify(path.dirname(program))}, { recursive: true }); require('fs').writeFileSync(${JSON.stringify(program)}, 'let x = 0; for (let i = 0; i < 1e6; i++) x += i; process.exit(0);')`]);
    execFileSync(process.execPath, [program], { env: { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, CPU_PROFILE_DIR: dir } });
    const [file] = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
    expect(file).toMatch(/^svc-\d+\.cpuprofile$/);
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    expect(profile.nodes.length).toBeGreaterThan(0);
    expect(profile.samples.length).toBeGreaterThan(0);
  });

  it('when CPU_PROFILE_DIR is not set, then nothing is profiled or written', () => {
    execFileSync(process.execPath, ['-e', 'process.exit(0)'], { env: { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, CPU_PROFILE_DIR: '' }, cwd: dir });
    expect(readdirSync(dir)).toEqual([]);
  });
});
