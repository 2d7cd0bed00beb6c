export * from './safe-text';
export * from './character-definition';
export * from './generation-request';
export * from './queues';
export * from './job-errors';
export * from './job-events';
export * from './resources';
export * from './workflows';
