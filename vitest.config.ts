import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/support/count-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Powertools logs are JSON on stdout; keep them out of the test output unless debugging.
    env: { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' },
  },
});
