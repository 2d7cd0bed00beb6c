import { startCli, stopCli } from './helpers/cli-process';
import { getJson } from './helpers/http';

describe('the simulator CLI with custom node packs', () => {
  it('when started with --custom-nodes ipadapter, then /object_info/IPAdapter answers the class', async () => {
    const cli = startCli(['--port', '0', '--custom-nodes', 'ipadapter']);
    try {
      const base = await cli.url;
      expect(Object.keys(await getJson(base, '/object_info/IPAdapter'))).toEqual(['IPAdapter']);
      expect(Object.keys(await getJson(base, '/object_info/IPAdapterUnifiedLoader'))).toEqual(['IPAdapterUnifiedLoader']);
    } finally {
      expect(await stopCli(cli)).toBe(0);
    }
  });

  it('when SIM_CUSTOM_NODES names the pack, then it is installed; without either, it is not', async () => {
    const fromEnv = startCli(['--port', '0'], { SIM_CUSTOM_NODES: 'ipadapter' });
    const stock = startCli(['--port', '0'], { SIM_CUSTOM_NODES: '' });
    try {
      expect(Object.keys(await getJson(await fromEnv.url, '/object_info/IPAdapter'))).toEqual(['IPAdapter']);
      expect(await getJson(await stock.url, '/object_info/IPAdapter')).toEqual({});
    } finally {
      await Promise.all([stopCli(fromEnv), stopCli(stock)]);
    }
  });

  it('when --custom-nodes names unknown packs, then it exits 2 naming them', async () => {
    const { code, stderr } = await startCli(['--port', '0', '--custom-nodes', 'ipadapter,bogus, controlnet_aux']).exited;
    expect(code).toBe(2);
    expect(stderr).toContain('bogus, controlnet_aux');
    expect(stderr).toContain('known: ipadapter');
  });

  it('when asked for --help, then the flag is documented', async () => {
    const { code, stdout } = await startCli(['--help']).exited;
    expect(code).toBe(0);
    expect(stdout).toContain('--custom-nodes LIST');
    expect(stdout).toContain('SIM_CUSTOM_NODES');
  });
});
