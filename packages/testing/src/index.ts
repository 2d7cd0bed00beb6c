export * from './test-database';
export * from './queue-prefix';
export * from './wait-for';
export * from './tcp-proxy';
export * from './terminate-backends';
export * from './hostile-png';
export * from './refused-redis-urls';
