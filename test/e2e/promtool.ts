import { execFile, spawnSync } from 'node:child_process';

/** Runs `promtool check metrics` on Prometheus text; fails the test (never skips it) when promtool is missing. */
export async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string }> {
  if (spawnSync('promtool', ['--version']).error) {
    throw new Error('promtool is not installed: install Debian\'s "prometheus" package (scripts/test.sh does it with apt)');
  }
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin!.end(text);
  });
}
