export * from './test-database';
export * from './queue-prefix';
export * from './wait-for';
