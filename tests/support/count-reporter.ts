import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

// CI reads a plain `N passed, N failed, N skipped` line; Vitest's own summary is not that line.
// Before it, the leak scan of the whole run (see leak-scan.ts) is printed; a leak fails the run.

interface Dump {
  text: string;
  secrets: string[];
}

const scanForLeaks = (): { lines: number; secrets: number; leaks: number } | undefined => {
  const dir = process.env.LEAK_SCAN_DIR;
  if (!dir) return undefined;
  const dumps = readdirSync(dir).map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dump);
  rmSync(dir, { recursive: true, force: true });
  const secrets = new Set(dumps.flatMap((dump) => dump.secrets));
  const lines = dumps.flatMap((dump) => dump.text.split('\n')).filter(Boolean);
  // Never print a leaked value: say how many, and of how long, so a person can find it.
  const leaked = [...secrets].filter((secret) => lines.some((line) => line.includes(secret)));
  for (const secret of leaked)
    process.stdout.write(`leak scan: a ${secret.length}-character secret appears in the output\n`);
  return { lines: lines.length, secrets: secrets.size, leaks: leaked.length };
};

export default class CountReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      // A file that fails to load, or whose hooks fail, fails the run even if no test in it
      // failed (its tests are then reported as skipped).
      const testFailed = [...module.children.allTests()].some((test) => test.result().state === 'failed');
      if (module.state() === 'failed' && !testFailed) failed++;
    }
    const scan = scanForLeaks();
    if (scan) {
      process.stdout.write(
        `\nleak scan: ${scan.lines} lines of logs and answers scanned for ${scan.secrets} secrets, ${scan.leaks} leaks\n`,
      );
      if (scan.leaks > 0) {
        failed++;
        process.exitCode = 1;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
