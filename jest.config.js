/** Two projects: `unit` (pure, no services) and `integration` (real PostgreSQL, Temporal, Docker). */
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest'] };
// kysely 0.29 ships ESM only; jest's CommonJS runtime needs swc to compile it like our own code.
const transformIgnorePatterns = ['/node_modules/(?!kysely/)'];
module.exports = {
  // Integration tests start real servers and run leases for seconds; a per-project value is ignored by jest.
  testTimeout: 120000,
  // Each test file in a fresh worker process: Temporal's native worker runtime does not survive being
  // loaded again by jest's per-file module registry in one process (it aborts with a corrupted async hook
  // stack), so a worker that ran a file is always recycled.
  workerIdleMemoryLimit: '1MB',
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/programs/**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/replay/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
