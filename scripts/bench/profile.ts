import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { readConfig } from '../../lib/config.ts';
import { bindingKeyOf } from '../../lib/rotation/binding.ts';
import { keyRecordKey } from '../../lib/rotation/key-record.ts';
import { defaultSecretName } from '../../lib/rotation/secret-store.ts';
import { DEMO, seedDemo } from '../../sandbox/demo.ts';
import { startSandbox } from '../../sandbox/server.ts';
import { bundle } from './bundle.ts';

// Where a packaged handler's cold start goes: `node --cpu-prof` on a fresh process that imports
// the handler and, with --dry-run, answers one first dry run against the sandbox. The bundle is
// built with serverless.yml's esbuild options but unminified (names kept), so that each sample
// is attributed to the package or project file it came from (esbuild's `// path` comments).
//   node scripts/bench/profile.ts [--fn otcCssResetAdminPassword] [--runs 5] [--dry-run]
//                                 [--peer sdk-floor-preflight] [--by caller|self]
// --by caller (the default) bills the time Node spends inside its own modules (HTTP, streams,
// timers, crypto) to the bundle's code that called it, so that a request's cost lands on the
// package that made it; --by self keeps each sample where it ran. With --peer, the peer of
// scripts/bench/peers (bundled the same way) is profiled alternately with the handler, on the same
// OTC demo cluster, and the table shows both and the difference.
// Prints the median time per source (package or file), and the profiles' directory.

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    fn: { type: 'string', default: 'otcCssResetAdminPassword' },
    runs: { type: 'string', default: '5' },
    'dry-run': { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
    peer: { type: 'string' },
    by: { type: 'string', default: 'caller' },
  },
});

interface Profile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
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

/** One profiled subject: a bundle, the event it answers, the environment it runs in. */
interface Subject {
  label: string;
  file: string;
  owners: string[];
  event: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** Milliseconds per source in one profile, and the profile's total. */
const attribute = (
  profile: Profile,
  subject: Subject,
): { total: number; bySource: Record<string, number> } => {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const bundleName = subject.file.split('/').at(-1) as string;
  const inBundle = (id: number | undefined) =>
    byNode.get(id ?? -1)?.callFrame.url.endsWith(bundleName) === true;
  const sourceOf = (id: number): string => {
    const node = byNode.get(id);
    const url = node?.callFrame.url ?? '';
    if (url.endsWith(bundleName)) return subject.owners[node?.callFrame.lineNumber ?? 0] ?? '(bundle)';
    if (node?.callFrame.functionName === '(garbage collector)') return '(gc)';
    if (args.by === 'caller' && url.startsWith('node:')) {
      // Node's own modules, billed to the nearest bundle frame that called them, if any.
      let up = parentOf.get(id);
      while (up !== undefined && !inBundle(up)) up = parentOf.get(up);
      if (up !== undefined) return sourceOf(up);
    }
    if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}…`;
    return url === '' ? `(${node?.callFrame.functionName || 'native'})` : url;
  };
  const bySource: Record<string, number> = {};
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const source = sourceOf(id);
    bySource[source] = (bySource[source] ?? 0) + ms;
  });
  return { total, bySource };
};

const profileOnce = async (subject: Subject, profiles: string): Promise<Profile> => {
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
        subject.file,
        ...(subject.event === undefined ? [] : [subject.event]),
      ],
      { env: subject.env, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] },
    );
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`exit ${code}`))));
  });
  const [name] = await readdir(profiles);
  return JSON.parse(await readFile(join(profiles, name as string), 'utf8')) as Profile;
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
  const built = await bundle(
    ROOT,
    { ...service.custom.esbuild, minify: false, keepNames: true },
    {
      [args.fn]: `${handler.slice(0, handler.lastIndexOf('.'))}.ts`,
      ...(args.peer === undefined
        ? {}
        : { [args.peer]: join(import.meta.dirname, 'peers', `${args.peer}.mjs`) }),
    },
    join(dir, 'bundle'),
  );
  const fileOf = (name: string) => (built.find((b) => b.name === name) as { file: string }).file;
  const sandbox = await startSandbox({ ncloudChangingMs: 10, otcChangingMs: 10, huaweicloudChangingMs: 10 });
  const subjects: Subject[] = [];
  const medians = new Map<Subject, { totals: number[]; bySource: Record<string, number[]> }>();
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
    const file = fileOf(args.fn);
    subjects.push({
      label: args.fn,
      file,
      owners: sourcesOf(await readFile(file, 'utf8')),
      event: args['dry-run'] ? JSON.stringify(event) : undefined,
      env,
    });
    if (args.peer !== undefined) {
      // The peer reads what a dry run of the OTC demo cluster reads (see the peer's header).
      const otc = { provider: 'otc-css', region: DEMO.otc.region, clusterId: DEMO.otc.clusterId };
      const peerFile = fileOf(args.peer);
      subjects.push({
        label: args.peer,
        file: peerFile,
        owners: sourcesOf(await readFile(peerFile, 'utf8')),
        event: args['dry-run'] ? '{}' : undefined,
        env: {
          ...env,
          PEER_TABLE: readConfig(env).lockTable,
          PEER_BINDING_KEY: bindingKeyOf(otc),
          PEER_KEY_RECORD_KEY: keyRecordKey(otc.provider, 'profile-peer'),
          PEER_CREDENTIALS_PARAMETER: `${DEMO.credentialsPrefix}/otc/default`,
          PEER_PROVIDER_URL: `${sandbox.urls.otc}/${DEMO.otc.region}/v1.0/${DEMO.otc.projectId}/clusters/${DEMO.otc.clusterId}`,
          PEER_SECRET_ID: defaultSecretName(readConfig(env).secretPrefix, otc),
        },
      });
    }
    for (const subject of subjects) medians.set(subject, { totals: [], bySource: {} });
    for (let run = 0; run <= Number(args.runs); run++) {
      for (const [index, subject] of subjects.entries()) {
        const profile = await profileOnce(subject, join(dir, `run-${run}-${index}`));
        if (run === 0) continue; // warms the file cache and the sandbox
        const { total, bySource } = attribute(profile, subject);
        const m = medians.get(subject) as { totals: number[]; bySource: Record<string, number[]> };
        m.totals.push(total);
        for (const [source, ms] of Object.entries(bySource)) {
          m.bySource[source] ??= [];
          m.bySource[source].push(ms);
        }
      }
    }
  } finally {
    await sandbox.close();
  }
  const median = (values: number[] | undefined) => {
    const sorted = [...(values ?? [])].sort((a, b) => a - b);
    while (sorted.length < Number(args.runs)) sorted.unshift(0);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  const [ours, peer] = subjects.map((subject) => medians.get(subject)) as [
    { totals: number[]; bySource: Record<string, number[]> },
    { totals: number[]; bySource: Record<string, number[]> } | undefined,
  ];
  const sources = new Set([...Object.keys(ours.bySource), ...Object.keys(peer?.bySource ?? {})]);
  const rows = [...sources]
    .map((source) => {
      const mine = median(ours.bySource[source]);
      const theirs = peer ? median(peer.bySource[source]) : 0;
      return { source, mine, theirs, difference: mine - theirs };
    })
    .sort((a, b) => (peer ? Math.abs(b.difference) - Math.abs(a.difference) : b.mine - a.mine))
    .slice(0, Number(args.top));
  const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;
  process.stdout.write(
    `${args.fn}, ${args['dry-run'] ? 'import + first dry run' : 'import only'}: ` +
      `median profiled time ${median(ours.totals).toFixed(1)} ms over ${args.runs} runs` +
      (peer ? `; ${args.peer}: ${median(peer.totals).toFixed(1)} ms` : '') +
      `; time by source (${args.by === 'caller' ? "Node's internals billed to their caller in the bundle" : 'self time'})` +
      (peer ? ', largest differences first' : '') +
      ':\n' +
      (peer ? `${'handler'.padStart(10)} ${'peer'.padStart(10)} ${'diff'.padStart(10)}  source\n` : '') +
      rows
        .map((r) =>
          peer
            ? `${ms(r.mine)} ${ms(r.theirs)} ${ms(r.difference)}  ${r.source}`
            : `${ms(r.mine)}  ${r.source}`,
        )
        .join('\n') +
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
