import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// `serverless package` of one stage, for the tests of tests/deploy: no AWS credentials and no
// network; the template it writes is what CloudFormation would deploy.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface PackagedStage {
  /** The directory given to `--package`: the template, the state and the artifacts. */
  dir: string;
  templatePath: string;
  template: { Resources: Record<string, any>; Conditions?: Record<string, unknown> };
  state: { service: { provider: Record<string, any> } };
  /** Removes the service directory and the package. */
  remove: () => Promise<void>;
}

/**
 * A service directory of its own: `serverless package` writes to `.serverless` in the service
 * directory before it moves the artifacts to `--package`, so packages run at once in one directory
 * (the other tests of tests/deploy package too) remove each other's. Everything but serverless.yml
 * is a link to the project's.
 */
const serviceDirectory = async (copies: readonly string[]): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'sls-package-'));
  for (const entry of await readdir(ROOT)) {
    if (entry === '.git' || entry === '.serverless' || entry.startsWith('.esbuild')) continue;
    // The framework does not take a linked serverless.yml for a service.
    if (entry === 'serverless.yml' || copies.includes(entry)) {
      await cp(join(ROOT, entry), join(dir, entry), { recursive: true });
    } else await symlink(join(ROOT, entry), join(dir, entry));
  }
  return dir;
};

/** Changes made to a copy of the project before it is packaged (the real files stay untouched). */
export interface ServiceChange {
  /** Top-level entries copied rather than linked, so that `change` may edit them. */
  copies: readonly string[];
  change: (dir: string) => Promise<void>;
}

/** Packages `stage` with the given `--param`s; the error names what the framework printed. */
export const packageStage = async (
  stage: string,
  params: Record<string, string> = {},
  serviceChange?: ServiceChange,
): Promise<PackagedStage> => {
  const cwd = await serviceDirectory(serviceChange?.copies ?? []);
  await serviceChange?.change(cwd);
  const dir = join(cwd, 'package');
  const args = ['package', '--stage', stage, '--region', 'eu-central-1', '--package', dir];
  for (const [name, value] of Object.entries(params)) args.push('--param', `${name}=${value}`);
  await run('serverless', args, {
    cwd,
    env: {
      ...process.env,
      ESBUILD_WORK_FOLDER: '.esbuild',
      SLS_TELEMETRY_DISABLED: '1',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    },
    timeout: 120_000,
  }).catch((error: { message: string; stdout?: string; stderr?: string }) => {
    throw new Error(`${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  const templatePath = join(dir, 'cloudformation-template-update-stack.json');
  return {
    dir,
    templatePath,
    template: JSON.parse(await readFile(templatePath, 'utf8')),
    state: JSON.parse(await readFile(join(dir, 'serverless-state.json'), 'utf8')),
    remove: () => rm(cwd, { recursive: true, force: true }),
  };
};
