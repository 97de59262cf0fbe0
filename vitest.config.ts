import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Where each test file leaves its output and secrets for the run's leak scan (count-reporter.ts).
process.env.LEAK_SCAN_DIR ??= mkdtempSync(join(tmpdir(), 'leak-scan-'));

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['./tests/support/leak-scan.ts'],
    reporters: ['default', './tests/support/count-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Powertools logs are JSON on stdout; keep them out of the test output unless debugging.
    env: { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' },
  },
});
