import { loadConfig, orchestratorConfigSchema } from '@anime/config';
import { QUEUE_KEYS } from '@anime/contracts';
import { jobOptionsFor, queueSettingsFrom } from '@anime/pipeline';

const REQUIRED = { DATABASE_URL: 'postgres://h/db', LIBRARY_DIR: '/l', COMFYUI_URLS: 'http://a' };

describe('retention of finished queue jobs', () => {
  it('when nothing is set, then every queue keeps completed jobs 1 h (at most 1,000) and failed ones 7 days (at most 5,000): bounded by age and count', () => {
    const settings = queueSettingsFrom(loadConfig(orchestratorConfigSchema, REQUIRED));
    for (const key of QUEUE_KEYS) {
      expect(jobOptionsFor(key, settings)).toMatchObject({ removeOnComplete: { age: 3600, count: 1_000 }, removeOnFail: { age: 604_800, count: 5_000 } });
    }
  });

  it('when QUEUE_KEEP_COMPLETED_S and QUEUE_KEEP_FAILED_S are set, then every queue ages finished jobs out after them, the counts still bounded', () => {
    const settings = queueSettingsFrom(loadConfig(orchestratorConfigSchema, { ...REQUIRED, QUEUE_KEEP_COMPLETED_S: '30', QUEUE_KEEP_FAILED_S: '90' }));
    for (const key of QUEUE_KEYS) {
      expect(jobOptionsFor(key, settings)).toMatchObject({ removeOnComplete: { age: 30, count: 1_000 }, removeOnFail: { age: 90, count: 5_000 } });
    }
  });

  it('when a retention is not a positive whole number of seconds, then the configuration is refused naming it', () => {
    expect(() => loadConfig(orchestratorConfigSchema, { ...REQUIRED, QUEUE_KEEP_COMPLETED_S: '0' })).toThrow(/QUEUE_KEEP_COMPLETED_S/);
    expect(() => loadConfig(orchestratorConfigSchema, { ...REQUIRED, QUEUE_KEEP_FAILED_S: 'soon' })).toThrow(/QUEUE_KEEP_FAILED_S/);
  });
});
