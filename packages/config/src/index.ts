export * from './service-configs';
export { loadConfig, loadConfigOrExit, ConfigError } from './load-config';
export { gatewayLimitsSchema, LARGEST_GENERATION_COST, type GatewayLimitsConfig } from './gateway-limits-env';
