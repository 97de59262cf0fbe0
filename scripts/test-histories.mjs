// `npm run test:histories -- --runs N [--seed S] [--dimensions all]`: the history explorer of
// tests/histories, longer than the default run of `npm test`. The same seed replays the same
// histories; `--dimensions` (or HISTORY_DIMENSIONS; default `all`) chooses the dimensions beyond
// callers, faults and kills: a list of `sdk-retry`, `time`, `unstored`, `dry-run`, or `""` for none.
// Its figures go to stderr and to a JSON file under the system's temporary folder (history-explorer/).
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    dimensions: { type: 'string' },
  },
});
for (const name of ['runs', 'seed']) {
  const value = values[name];
  if (value !== undefined && !/^\d+$/.test(value)) {
    console.error(`--${name} must be a whole number`);
    process.exit(2);
  }
}
if (values.dimensions !== undefined && !/^(all|[a-z-]+(,[a-z-]+)*)$/.test(values.dimensions)) {
  console.error('--dimensions must be `all` or a comma-separated list such as sdk-retry,time');
  process.exit(2);
}
const env = { ...process.env, HISTORY_RUNS: values.runs };
if (values.seed !== undefined) env.HISTORY_SEED = values.seed;
if (values.dimensions !== undefined) env.HISTORY_DIMENSIONS = values.dimensions;
const run = spawnSync('npx', ['vitest', 'run', 'tests/histories/explore.test.ts'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
