export * from './anime-metrics';
export * from './metrics-text';
export * from './queue-depth';
export * from './process-metrics';
