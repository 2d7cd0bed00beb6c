import { loadConfig, ConfigError } from './load-config';
import { characterConfigSchema, gatewayConfigSchema } from './service-configs';

const base = { DATABASE_URL: 'postgresql://u@h/db', LIBRARY_DIR: '/tmp/lib' };

describe('WEBHOOK_ALLOW', () => {
  it('when unset, then no private target is allowed; when set, then hosts, IPs and CIDRs are read (shared by every service)', () => {
    expect(loadConfig(gatewayConfigSchema, base).WEBHOOK_ALLOW).toEqual({ hosts: [], cidrs: [] });
    const allow = loadConfig(characterConfigSchema, { ...base, WEBHOOK_ALLOW: ' 127.0.0.1, 10.0.0.0/8 ,Hooks.Internal, ::1, [fd00::]/8' }).WEBHOOK_ALLOW;
    expect(allow).toEqual({ hosts: ['hooks.internal'], cidrs: [['127.0.0.1', 32], ['10.0.0.0', 8], ['::1', 128], ['fd00::', 8]] });
  });

  it('when an entry is neither a host, an IP nor a CIDR, then the process stops naming the variable, not its value', () => {
    for (const bad of ['10.0.0.0/33', 'http://x.example', 'a b', '1.2.3.4/8/2', 'sec ret!']) {
      let error: ConfigError | undefined;
      try {
        loadConfig(gatewayConfigSchema, { ...base, WEBHOOK_ALLOW: bad });
      } catch (e) {
        error = e as ConfigError;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(/WEBHOOK_ALLOW/);
      expect(error!.message).not.toContain(bad);
    }
  });
});
