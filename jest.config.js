/** @type {import('jest').Config} */
module.exports = {
  // Node's, ending with each test file the worker threads it started (scripts/jest-environment.js).
  testEnvironment: '<rootDir>/scripts/jest-environment.js',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/services/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Builds the programs the tests start as processes (they run the compiled output, as production does).
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker whose heap passed this after a test file is replaced before the next one. Each file's
  // modules stay reachable once it ends (after a forced GC, the heap of a gateway worker grew some
  // 30 MB a file), and the larger the heap, the longer the worker takes to exit: with 600 MB, on a
  // loaded machine, past the 500 ms jest gives it ("A worker process has failed to exit gracefully
  // and has been force exited"); with 300 MB or less, 230-350 ms.
  workerIdleMemoryLimit: '300MB',
  // The default reporter, then the slowest test files of the run (scripts/jest-slowest-suites.js).
  reporters: ['default', '<rootDir>/scripts/jest-slowest-suites.js'],
};
