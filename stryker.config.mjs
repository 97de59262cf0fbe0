// Mutation testing of the rotation core: `npm run test:mutation` (not part of `npm test`; a full run
// takes long). One file: `npm run test:mutation -- --mutate lib/rotation/state-machine.ts`.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['lib/rotation/**/*.ts'],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  // Each mutant runs only the tests that reach its code.
  coverageAnalysis: 'perTest',
  checkers: [],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['.esbuild', '.serverless', '.bench', 'reports', 'coverage'],
  // Integration tests wait on the sandbox's simulated clusters; two cores at most.
  concurrency: 2,
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 80, break: null },
};
