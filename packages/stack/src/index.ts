export * from './free-port';
export * from './service-process';
export * from './start-stack';
export * from './simulator-process';
export * from './entries';
export * from './repo-root';
