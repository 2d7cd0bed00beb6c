export * from './service-configs';
export { loadConfig, loadConfigOrExit, ConfigError } from './load-config';
