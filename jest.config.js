/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/services/*/src/**/*.test.ts', '<rootDir>/services/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts', '<rootDir>/scripts/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  // Builds the programs the tests start as processes (they run the compiled output, as production does).
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  testTimeout: 60_000,
  maxWorkers: 2,
  // The default reporter, then the slowest test files of the run (scripts/jest-slowest-suites.js).
  reporters: ['default', '<rootDir>/scripts/jest-slowest-suites.js'],
};
