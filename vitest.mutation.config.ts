import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// The suites whose verdict counts for Stryker's mutation score of lib/rotation (stryker.config.mjs):
// the rotation's unit suites and the integration suites against the sandbox. The history explorer
// runs handlers in child processes, where Stryker cannot see which mutant is active.
// MUTATION_SUITES=unit counts the unit suites alone: Stryker needs every test green in its first
// run, and a few integration tests time the sandbox's simulated clusters closely enough to fail on
// a loaded machine.
const suites =
  process.env.MUTATION_SUITES === 'unit'
    ? ['tests/unit/rotation/**/*.test.ts']
    : ['tests/unit/rotation/**/*.test.ts', 'tests/integration/**/*.test.ts'];

// Not mergeConfig: it would append these lists to the base config's instead of replacing them.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: suites,
    reporters: ['default'],
    // A test that misses a timing once on a busy machine is tried again; a mutant counts as killed
    // when its test fails all three times.
    retry: 2,
  },
});
