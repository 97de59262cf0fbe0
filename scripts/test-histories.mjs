// `npm run test:histories -- --runs N [--seed S]`: the history explorer of tests/histories, longer
// than the default run of `npm test`. The same seed replays the same histories.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '100' }, seed: { type: 'string' } },
});
for (const [name, value] of Object.entries(values)) {
  if (value !== undefined && !/^\d+$/.test(value)) {
    console.error(`--${name} must be a whole number`);
    process.exit(2);
  }
}
const env = { ...process.env, HISTORY_RUNS: values.runs };
if (values.seed !== undefined) env.HISTORY_SEED = values.seed;
const run = spawnSync('npx', ['vitest', 'run', 'tests/histories/explore.test.ts'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
