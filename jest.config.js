/**
 * ts-jest transpiles only (tsconfig `isolatedModules`): `npm run build` type-checks once.
 * `npm run jest` runs with --experimental-vm-modules: PGlite loads its WebAssembly with import().
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testTimeout: 60_000,
  // Two workers on CI's two cores (jest's default leaves one core to its idle main thread).
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/slow-first-sequencer.js',
};
