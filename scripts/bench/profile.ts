import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DEMO, seedDemo } from '../../sandbox/demo.ts';
import { startSandbox } from '../../sandbox/server.ts';
import { bundle } from './bundle.ts';

// Where a packaged handler's cold start goes: `node --cpu-prof` on a fresh process that imports
// the handler and, with --dry-run, answers one first dry run against the sandbox. The bundle is
// built with serverless.yml's esbuild options but unminified (names kept), so that each sample
// is attributed to the package or project file it came from (esbuild's `// path` comments).
//   node scripts/bench/profile.ts [--fn otcCssResetAdminPassword] [--runs 5] [--dry-run]
// Prints the median self time per source (package or file), and the profiles' directory.

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    fn: { type: 'string', default: 'otcCssResetAdminPassword' },
    runs: { type: 'string', default: '5' },
    'dry-run': { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
  },
});

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** The source each line of an unminified esbuild bundle belongs to, from its `// path` comments. */
const sourcesOf = (text: string): string[] => {
  const owners: string[] = [];
  let current = '(bundle)';
  for (const line of text.split('\n')) {
    const path = /^\/\/ (\S+\.(?:[cm]?js|ts|json))$/.exec(line)?.[1];
    if (path) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
      current = pkg ?? path;
    }
    owners.push(current);
  }
  return owners;
};

const main = async () => {
  const { stdout } = await promisify(execFile)(
    'serverless',
    ['print', '--format', 'json', '--stage', 'local'],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const service = JSON.parse(stdout);
  const handler = service.functions[args.fn].handler as string;
  const dir = join(ROOT, '.bench/profile');
  await rm(dir, { recursive: true, force: true });
  const [built] = await bundle(
    ROOT,
    { ...service.custom.esbuild, minify: false, keepNames: true },
    { [args.fn]: `${handler.slice(0, handler.lastIndexOf('.'))}.ts` },
    join(dir, 'bundle'),
  );
  const file = (built as { file: string }).file;
  const owners = sourcesOf(await readFile(file, 'utf8'));
  const sandbox = await startSandbox({ ncloudChangingMs: 10, otcChangingMs: 10, huaweicloudChangingMs: 10 });
  const bySource: Record<string, number[]> = {};
  const totals: number[] = [];
  try {
    seedDemo(sandbox);
    const deployed = Object.fromEntries(
      Object.entries(service.provider.environment).filter(([, v]) => typeof v === 'string'),
    ) as Record<string, string>;
    const env = {
      ...process.env,
      ...deployed,
      NODE_OPTIONS: '',
      STAGE: 'local',
      CREDENTIALS_PREFIX: DEMO.credentialsPrefix,
      ...sandbox.env,
    };
    const provider =
      { ncloudCdssResetCmakPassword: DEMO.ncloud, otcCssResetAdminPassword: DEMO.otc }[
        args.fn as 'otcCssResetAdminPassword'
      ] ?? DEMO.huaweicloud;
    const providerId =
      { ncloudCdssResetCmakPassword: 'ncloud-cdss', otcCssResetAdminPassword: 'otc-css' }[
        args.fn as 'otcCssResetAdminPassword'
      ] ?? 'huaweicloud-css';
    const event = {
      provider: providerId,
      region: provider.region,
      clusterId: provider.clusterId,
      dryRun: true,
    };
    for (let run = 0; run <= Number(args.runs); run++) {
      const profiles = join(dir, `run-${run}`);
      await mkdir(profiles, { recursive: true });
      await new Promise<void>((done, fail) => {
        const child = spawn(
          process.execPath,
          [
            '--cpu-prof',
            // 0.1 ms: a cold start is a few hundred samples at the default 1 ms.
            '--cpu-prof-interval',
            '100',
            '--cpu-prof-dir',
            profiles,
            join(import.meta.dirname, 'cold-child.mjs'),
            file,
            ...(args['dry-run'] ? [JSON.stringify(event)] : []),
          ],
          { env, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] },
        );
        child.on('close', (code) => (code === 0 ? done() : fail(new Error(`exit ${code}`))));
      });
      if (run === 0) continue; // warms the file cache and the sandbox
      const [name] = await readdir(profiles);
      const profile = JSON.parse(await readFile(join(profiles, name as string), 'utf8')) as Profile;
      const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
      const self: Record<string, number> = {};
      let total = 0;
      profile.samples.forEach((id, i) => {
        const node = byNode.get(id);
        const ms = (profile.timeDeltas[i] ?? 0) / 1000;
        total += ms;
        const url = node?.callFrame.url ?? '';
        const source = url.endsWith(file.split('/').at(-1) as string)
          ? (owners[node?.callFrame.lineNumber ?? 0] ?? '(bundle)')
          : url.startsWith('node:')
            ? `node:${url.slice(5).split('/')[0]}…`
            : node?.callFrame.functionName === '(garbage collector)'
              ? '(gc)'
              : url === ''
                ? `(${node?.callFrame.functionName || 'native'})`
                : url;
        self[source] = (self[source] ?? 0) + ms;
      });
      totals.push(total);
      for (const [source, ms] of Object.entries(self)) {
        bySource[source] ??= [];
        bySource[source].push(ms);
      }
    }
  } finally {
    await sandbox.close();
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    while (sorted.length < Number(args.runs)) sorted.unshift(0);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  const rows = Object.entries(bySource)
    .map(([source, ms]) => [source, median(ms)] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(args.top));
  process.stdout.write(
    `${args.fn}, ${args['dry-run'] ? 'import + first dry run' : 'import only'}: ` +
      `median profiled time ${median(totals).toFixed(1)} ms over ${args.runs} runs; self time by source:\n` +
      rows.map(([source, ms]) => `${ms.toFixed(1).padStart(7)} ms  ${source}`).join('\n') +
      `\nprofiles: ${dir}\n`,
  );
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
