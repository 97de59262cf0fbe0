import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// An install script that package.json's `allowScripts` has not decided fails `npm ci`, rather than
// running with a notice (.npmrc: strict-allow-scripts). Shown with `npm ci --dry-run --offline` on
// a copy of package.json, the lockfile and .npmrc: npm builds the tree from the lockfile and checks
// the install-script policy before it fetches or installs anything, so neither the network nor
// this checkout's node_modules is touched. An npm without the setting (before 11) is reported and
// skipped: it would run the script.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let strictKnown = false;

/** npm's environment without any npm_config_* variable of the npm that runs the tests. */
const cleanEnv = () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_config_/i.test(name)) env[name] = value;
  }
  // Neither the user's nor the machine's npmrc: the project's alone.
  env.npm_config_userconfig = join(dir, 'no-user-npmrc');
  env.npm_config_globalconfig = join(dir, 'no-global-npmrc');
  return env;
};

const npm = (args: string[]) =>
  run('npm', args, { cwd: dir, env: cleanEnv(), timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );

const dryRunCi = () => npm(['ci', '--dry-run', '--offline', '--no-audit', '--no-fund']);

/** package.json with `allowScripts` changed by `change`. */
const withPolicy = async (change: (policy: Record<string, boolean>) => void) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  change(pkg.allowScripts);
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'install-scripts-'));
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
    await copyFile(join(ROOT, file), join(dir, file));
  }
  const { output } = await npm(['config', 'ls', '-l', '--json']);
  strictKnown = /"strict-allow-scripts"\s*:/.test(output);
  if (!strictKnown) {
    process.stdout.write(
      `npm ${(await npm(['--version'])).output.trim()} has no strict-allow-scripts: it would run an unreviewed install script (use npm 11)\n`,
    );
  }
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('install scripts under npm ci', () => {
  it('are all decided in allowScripts: npm ci of a clean clone passes the strict check', async (context) => {
    if (!strictKnown) context.skip();
    const { code, output } = await dryRunCi();
    expect(output).not.toContain('ESTRICTALLOWSCRIPTS');
    expect(code).toBe(0);
  });

  it('fails npm ci, naming the package, when one is not decided', async (context) => {
    if (!strictKnown) context.skip();
    // esbuild's postinstall, as if it were a new dependency nobody has reviewed yet.
    await withPolicy((policy) => {
      delete policy.esbuild;
    });
    const { code, output } = await dryRunCi();
    expect(code).not.toBe(0);
    expect(output).toContain('ESTRICTALLOWSCRIPTS');
    expect(output).toMatch(/esbuild@\d+\.\d+\.\d+/);
    // Without the project's setting, the same npm ci would have gone on (and run the script).
    await writeFile(join(dir, '.npmrc'), 'omit-lockfile-registry-resolved=false\n');
    expect((await dryRunCi()).code).toBe(0);
    await copyFile(join(ROOT, '.npmrc'), join(dir, '.npmrc'));
    await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  });
});
