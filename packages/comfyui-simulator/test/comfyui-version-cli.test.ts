import { startCli, stopCli } from './helpers/cli-process';
import { getJson } from './helpers/http';

describe('the simulator CLI with a ComfyUI version', () => {
  it('when started without one, then it answers as 0.3.64 and says so', async () => {
    const cli = startCli(['--port', '0'], { SIM_COMFYUI_VERSION: '' });
    try {
      const base = await cli.url;
      expect((await getJson(base, '/system_stats')).system.comfyui_version).toBe('0.3.64');
      const empty = await fetch(`${base}/interrupt`, { method: 'POST' });
      expect(empty.headers.get('content-type')).toBeNull();
    } finally {
      const code = await stopCli(cli);
      expect(code).toBe(0);
      expect((await cli.exited).stdout).toContain('(ComfyUI 0.3.64)');
    }
  });

  it('when --comfyui-version 0.8.0 is given, or SIM_COMFYUI_VERSION=0.8.0, then it answers as 0.8.0; the flag wins over the env', async () => {
    const fromFlag = startCli(['--port', '0', '--comfyui-version', '0.8.0'], { SIM_COMFYUI_VERSION: '0.3.64' });
    const fromEnv = startCli(['--port', '0'], { SIM_COMFYUI_VERSION: '0.8.0' });
    try {
      for (const base of [await fromFlag.url, await fromEnv.url]) {
        expect((await getJson(base, '/system_stats')).system.comfyui_version).toBe('0.8.0');
        const empty = await fetch(`${base}/interrupt`, { method: 'POST' });
        expect(empty.headers.get('content-type')).toBe('application/octet-stream');
      }
    } finally {
      await Promise.all([stopCli(fromFlag), stopCli(fromEnv)]);
    }
  });

  it('when the version is unknown, then it exits 2 naming the known ones', async () => {
    const { code, stderr } = await startCli(['--port', '0', '--comfyui-version', '0.4.0']).exited;
    expect(code).toBe(2);
    expect(stderr).toContain('unknown version 0.4.0');
    expect(stderr).toContain('known: 0.3.64, 0.8.0');
  });

  it('when asked for --help, then the flag, its env and its default are documented', async () => {
    const { code, stdout } = await startCli(['--help']).exited;
    expect(code).toBe(0);
    expect(stdout).toContain('--comfyui-version V');
    expect(stdout).toContain('SIM_COMFYUI_VERSION; default 0.3.64');
  });
});
