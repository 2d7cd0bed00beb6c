export * from './service-configs';
export { loadConfig, loadConfigOrExit, ConfigError } from './load-config';
export type { WebhookAllowList } from './webhook-allow';
