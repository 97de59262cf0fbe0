import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The suites whose verdict counts for Stryker's mutation score of lib/rotation (stryker.config.mjs):
// the rotation's unit suites and the integration suites against the sandbox. The history explorer
// runs handlers in child processes, where Stryker cannot see which mutant is active.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['tests/unit/rotation/**/*.test.ts', 'tests/integration/**/*.test.ts'],
      reporters: ['default'],
      // A few integration tests time the sandbox's simulated clusters; under Stryker on a busy machine
      // one can miss once. A mutant still counts as killed only if its test fails three times.
      retry: 2,
    },
  }),
);
