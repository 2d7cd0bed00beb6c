export * from './redis';
export * from './queues';
export * from './job-events';
export * from './job-store';
export * from './resources';
export * from './stage-worker';
export * from './ops-server';
export * from './shutdown';
