import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { readConfig } from '../../lib/config.ts';
import { bindingKeyOf } from '../../lib/rotation/binding.ts';
import { keyRecordKey } from '../../lib/rotation/key-record.ts';
import { defaultSecretName } from '../../lib/rotation/secret-store.ts';
import { DEMO, seedDemo } from '../../sandbox/demo.ts';
import { TASK_FUNCTIONS } from '../../sandbox/run-fleet.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { type Bundle, bundle } from './bundle.ts';

// `npm run bench`: the packaged handlers against the reference peers (scripts/bench/peers), side
// by side in one run, as ratios (see docs/performance.md). A measurement: it exits 0 when targets
// are missed, and non-zero only when something breaks.
//   npm run bench -- [--runs 10] [--warm 200] [--fleet 10,100,1000,10000] [--out .bench/results.json]
//                    [--peers scripts/bench/peers] [--node-options=--enable-source-maps]

const ROOT = resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    warm: { type: 'string', default: '200' },
    fleet: { type: 'string', default: '10,100,1000,10000' },
    out: { type: 'string', default: join(ROOT, '.bench/results.json') },
    peers: { type: 'string', default: join(import.meta.dirname, 'peers') },
    'node-options': { type: 'string', default: '' },
  },
});
const RUNS = Number(args.runs);
const WARM = Number(args.warm);
const FLEET = args.fleet.split(',').filter(Boolean).map(Number);
if (!(RUNS >= 1 && WARM >= 1 && FLEET.every((n) => n >= 1))) throw new Error('bad --runs, --warm or --fleet');
const BENCH_DIR = join(ROOT, '.bench');
const WORK = join(BENCH_DIR, 'work');

const TARGETS = { bundleKB: 900, vsFloor: 1.1, vsNaive: 0.85, rssMiB: 80, warmMs: 1, fleetGrowth: 1.25 };

// ---- child processes: each one time-boxed, and all killed if the bench stops ----

const children = new Set<ChildProcess>();
const killChildren = () => {
  for (const child of children) child.kill('SIGKILL');
};
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });

interface ChildRun<R> {
  /** From spawn to the child's report, which it writes as soon as it has its answer. */
  ms: number;
  report: R;
}

/** Runs a script in a fresh Node 22 process; it reports one JSON line on fd 3 (stdout holds the handlers' logs). */
const runChild = <R>(
  script: string,
  scriptArgs: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  nodeArgs: string[] = [],
): Promise<ChildRun<R>> =>
  new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, join(import.meta.dirname, script), ...scriptArgs], {
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let ms = 0;
    let report = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      if (report === '') ms = performance.now() - started;
      report += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0 && report.includes('\n')) return resolvePromise({ ms, report: JSON.parse(report) });
      const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exit ${code ?? signal}`;
      reject(new Error(`${script} ${scriptArgs[0] ?? ''}: ${why}\n${stderr}`));
    });
  });

// ---- statistics and formatting ----

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const mark = (ok: boolean) => (ok ? 'ok' : 'MISS');
const fixed = (value: number, digits = 1) => value.toFixed(digits);
const ratio = (value: number) => `${value.toFixed(2)}x`;

const table = (title: string, header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''].join('\n');
};

// ---- the project, as serverless.yml resolves it ----

interface Service {
  custom: { esbuild: Record<string, unknown> };
  provider: { environment: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
  stepFunctions: { stateMachines: { fleetRotation: { definition: Record<string, unknown> } } };
}

/** One `serverless print`: the esbuild options, the functions' environment and the fleet state machine. */
const printService = async (): Promise<Service> => {
  const { stdout } = await promisify(execFile)(
    'serverless',
    ['print', '--format', 'json', '--stage', 'local'],
    {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout);
};

interface ProviderUnderTest {
  id: string;
  /** The function in serverless.yml, and the fleet's Task state that invokes it. */
  fn: string;
  task: string;
  region: string;
  demoClusterId: string;
  /** A fresh, healthy cluster, so that each rotation is a real reset. */
  newCluster(): string;
  password(clusterId: string): string | undefined;
}

let nextNcloudId = 5_000_000;
const providersOf = (sandbox: Sandbox): ProviderUnderTest[] => {
  const task = (fn: string) =>
    Object.keys(TASK_FUNCTIONS).find((state) => TASK_FUNCTIONS[state] === fn) as string;
  const css = (
    id: string,
    fn: string,
    demo: typeof DEMO.otc | typeof DEMO.huaweicloud,
    simulator = sandbox.otc,
  ) => ({
    id,
    fn,
    task: task(fn),
    region: demo.region,
    demoClusterId: demo.clusterId,
    newCluster: () => {
      const clusterId = randomUUID();
      simulator.addCluster({
        region: demo.region,
        projectId: demo.projectId,
        clusterId,
        password: demo.initialPassword,
      });
      return clusterId;
    },
    password: (clusterId: string) => simulator.cluster(demo.region, clusterId)?.password,
  });
  return [
    {
      id: 'ncloud-cdss',
      fn: 'ncloudCdssResetCmakPassword',
      task: task('ncloudCdssResetCmakPassword'),
      region: DEMO.ncloud.region,
      demoClusterId: DEMO.ncloud.clusterId,
      newCluster: () => {
        const clusterId = String(nextNcloudId++);
        sandbox.ncloud.addCluster({
          region: DEMO.ncloud.region,
          serviceGroupInstanceNo: clusterId,
          password: DEMO.ncloud.initialPassword,
        });
        return clusterId;
      },
      password: (clusterId) => sandbox.ncloud.cluster(DEMO.ncloud.region, clusterId)?.password,
    },
    css('otc-css', 'otcCssResetAdminPassword', DEMO.otc),
    css('huaweicloud-css', 'huaweicloudCssResetAdminPassword', DEMO.huaweicloud, sandbox.huaweicloud),
  ];
};

/**
 * The OTC simulator refuses a request without the X-Project-Id header (APIGW.0302), which the naive
 * peer does not send: this forwarder adds it, from the path, and passes everything else through
 * as received (the Host header too, which the peer signed). It costs the peer one local hop.
 */
const projectIdForwarder = async (target: string): Promise<{ url: string; server: Server }> => {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const projectId = /\/v1\.0\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? '';
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-project-id': projectId },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};

// ---- the run ----

const PEERS = {
  empty: 'empty.mjs',
  naive: 'naive.mjs',
  'sdk-floor': 'sdk-floor.mjs',
  'sdk-floor-ssm': 'sdk-floor-ssm.mjs',
  'sdk-floor-preflight': 'sdk-floor-preflight.mjs',
};
type ColdReport = { maxRssKiB: number; cpuMs: number; answer?: Record<string, unknown> };
type WarmSample = { totalMs: number; networkMs: number; requests: number; openRequests: number };
interface Samples {
  ms: number[];
  cpuMs: number[];
  rssMiB: number[];
}
interface FleetReport {
  ms: number;
  succeeded: number;
  failed: unknown[];
  failedCount: number;
  rssStartMiB: number;
  peakRssMiB: number;
  heapStartMiB: number;
  heapEndMiB: number;
  parentEvents: number;
  childEvents: number;
  maxChildEvents: number;
}
interface WarmRow {
  overheadMs: number;
  p90OverheadMs: number;
  totalMs: number;
  networkMs: number;
  requestsPerInvocation: number;
  sandboxCallsPerInvocation: number;
}
interface FleetRow {
  clusters: number;
  totalMs: number;
  msPerCluster: number;
  peakRssGrowthKiBPerCluster: number;
  retainedHeapKiBPerCluster: number;
  rssStartMiB: number;
  peakRssMiB: number;
  /** History events of the parent execution: the same at every fleet size. */
  parentEvents: number;
  /** History events of the child executions (a check and a rotation per cluster), per cluster. */
  eventsPerCluster: number;
  /** The most events any one child execution recorded. */
  maxEventsPerExecution: number;
}
const KB = 1000;
const KIB_PER_MIB = 1024;

const main = async () => {
  const started = performance.now();
  // Other work on the machine shows here; the ratios are what to read.
  const loadAtStart = loadavg()[0] as number;
  const log = (line: string) =>
    process.stderr.write(`[bench ${fixed((performance.now() - started) / 1000)} s] ${line}\n`);
  const service = await printService();

  // 1. Bundles, with the options serverless-esbuild gets.
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const entries: Record<string, string> = {};
  for (const [name, file] of Object.entries(PEERS)) entries[name] = join(args.peers, file);
  for (const fn of Object.values(TASK_FUNCTIONS)) {
    const handler = service.functions[fn]?.handler as string;
    entries[fn] = `${handler.slice(0, handler.lastIndexOf('.'))}.ts`;
  }
  const bundles = Object.fromEntries(
    (await bundle(ROOT, service.custom.esbuild, entries, join(WORK, 'bundles'))).map((b) => [b.name, b]),
  ) as Record<string, Bundle>;
  log(`bundled ${Object.keys(bundles).length} entries`);

  // The functions' environment as deployed (its plain values); NODE_OPTIONS only as --node-options
  // says, the same for every bundle.
  const deployed = Object.fromEntries(
    Object.entries(service.provider.environment).filter(([, value]) => typeof value === 'string'),
  ) as Record<string, string>;
  const { NODE_OPTIONS: deployedNodeOptions, ...deployedEnv } = deployed;
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...deployedEnv,
    STAGE: 'local',
    CREDENTIALS_PREFIX: DEMO.credentialsPrefix,
    NODE_OPTIONS: args['node-options'],
  };
  const projectNames = Object.values(TASK_FUNCTIONS);
  const allNames = [...projectNames, ...Object.keys(PEERS)];

  // 2. Cold import, before the sandbox starts (nothing to answer; a quieter machine): a round to
  // warm the file cache, then RUNS rounds of A B C … alternating.
  const coldImport: Record<string, Samples> = {};
  for (const name of allNames) coldImport[name] = { ms: [], cpuMs: [], rssMiB: [] };
  for (let round = 0; round <= RUNS; round++) {
    for (const name of allNames) {
      const file = (bundles[name] as Bundle).file;
      const run = await runChild<ColdReport>('cold-child.mjs', [file], baseEnv, 30_000);
      if (round === 0) continue;
      coldImport[name]?.ms.push(run.ms);
      coldImport[name]?.rssMiB.push(run.report.maxRssKiB / KIB_PER_MIB);
      coldImport[name]?.cpuMs.push(run.report.cpuMs);
    }
  }
  log('cold import done');

  const sandbox = await startSandbox({ ncloudChangingMs: 10, otcChangingMs: 10, huaweicloudChangingMs: 10 });
  const forwarder = await projectIdForwarder(sandbox.urls.otc);
  try {
    seedDemo(sandbox);
    const providers = providersOf(sandbox);
    // Pointed at the sandbox; its clusters settle in 10 ms, so the handlers poll every 20 ms, not 5 s.
    const env: NodeJS.ProcessEnv = { ...baseEnv, ...sandbox.env, STATE_POLL_INTERVAL_MS: '20' };
    // The naive peer: OTC only, one region, its credentials parameter named outright.
    const peerEnv = {
      ...env,
      OTC_CSS_ENDPOINT: `${forwarder.url}/${DEMO.otc.region}`,
      PEER_CREDENTIALS_PARAMETER: `${DEMO.credentialsPrefix}/otc/default`,
    };

    // The preflight floor reads what a dry run of the OTC demo cluster reads (see the peer).
    const otcTarget = { provider: 'otc-css', region: DEMO.otc.region, clusterId: DEMO.otc.clusterId };
    const preflightPeerEnv: NodeJS.ProcessEnv = {
      ...env,
      PEER_TABLE: readConfig(env).lockTable,
      PEER_BINDING_KEY: bindingKeyOf(otcTarget),
      PEER_KEY_RECORD_KEY: keyRecordKey(otcTarget.provider, 'bench-preflight-floor'),
      PEER_CREDENTIALS_PARAMETER: `${DEMO.credentialsPrefix}/otc/default`,
      PEER_PROVIDER_URL: `${sandbox.urls.otc}/${DEMO.otc.region}/v1.0/${DEMO.otc.projectId}/clusters/${DEMO.otc.clusterId}`,
      PEER_SECRET_ID: defaultSecretName(readConfig(env).secretPrefix, otcTarget),
    };

    // 3. Cold start, through the first answer: each case alternating with the others.
    interface Case {
      name: string;
      bundle: string;
      env: NodeJS.ProcessEnv;
      event(): Record<string, unknown>;
      check(answer: Record<string, unknown> | undefined, event: Record<string, unknown>): boolean;
    }
    const ok = (answer?: Record<string, unknown>) => answer?.ok === true;
    const INITIAL_PASSWORDS = [
      undefined,
      DEMO.ncloud.initialPassword,
      DEMO.otc.initialPassword,
      DEMO.huaweicloud.initialPassword,
    ] as Array<string | undefined>;
    const http200 = (answer?: Record<string, unknown>) => answer?.statusCode === 200;
    const cases: Case[] = [
      ...providers.map((p) => ({
        name: `${p.fn} dry run`,
        bundle: p.fn,
        env,
        event: () => ({ provider: p.id, region: p.region, clusterId: p.demoClusterId, dryRun: true }),
        check: ok,
      })),
      ...providers.map((p) => ({
        name: `${p.fn} rotation`,
        bundle: p.fn,
        env,
        event: () => ({ provider: p.id, region: p.region, clusterId: p.newCluster() }),
        // A real reset: the cluster no longer has the password it was created with.
        check: (answer: Record<string, unknown> | undefined, event: Record<string, unknown>) =>
          ok(answer) && !INITIAL_PASSWORDS.includes(p.password(event.clusterId as string)),
      })),
      {
        name: 'naive reset',
        bundle: 'naive',
        env: peerEnv,
        event: () => {
          const clusterId = (providers[1] as ProviderUnderTest).newCluster();
          const secretId = `bench/naive/${clusterId}`;
          sandbox.aws.createSecret({ Name: secretId, SecretString: DEMO.otc.initialPassword });
          return { region: DEMO.otc.region, clusterId, password: 'Bench-Naive1!', secretId };
        },
        // A real reset: the cluster has the new password.
        check: (answer, event) =>
          http200(answer) &&
          sandbox.otc.cluster(DEMO.otc.region, event.clusterId as string)?.password === 'Bench-Naive1!',
      },
      { name: 'sdk-floor', bundle: 'sdk-floor', env, event: () => ({}), check: http200 },
      // The limit for a first answer: the floor after the one SSM call every handler makes first.
      {
        name: 'sdk-floor-ssm',
        bundle: 'sdk-floor-ssm',
        env: { ...env, PEER_CREDENTIALS_PARAMETER: `${DEMO.credentialsPrefix}/otc/default` },
        event: () => ({}),
        check: http200,
      },
      // The limit for a dry run that is a preflight: the floor after the same reads, in order.
      {
        name: 'sdk-floor-preflight',
        bundle: 'sdk-floor-preflight',
        env: preflightPeerEnv,
        event: () => ({}),
        check: http200,
      },
      { name: 'empty', bundle: 'empty', env, event: () => ({}), check: http200 },
    ];
    const coldStart: Record<string, Samples> = {};
    for (const c of cases) coldStart[c.name] = { ms: [], cpuMs: [], rssMiB: [] };
    // Requests each case's first answer made to the simulated providers: 0 for a dry run that
    // stops at the credentials, 1 for one that asks the provider read-only (the preflight).
    const providerCalls: Record<string, number> = {};
    const providerCallCount = () =>
      sandbox.ncloud.calls.length + sandbox.otc.calls.length + sandbox.huaweicloud.calls.length;
    for (let round = 0; round <= RUNS; round++) {
      for (const c of cases) {
        const event = c.event();
        const file = (bundles[c.bundle] as Bundle).file;
        const callsBefore = providerCallCount();
        const run = await runChild<ColdReport>(
          'cold-child.mjs',
          [file, JSON.stringify(event)],
          c.env,
          30_000,
        );
        if (!c.check(run.report.answer, event))
          throw new Error(`${c.name}: unexpected answer ${JSON.stringify(run.report.answer).slice(0, 500)}`);
        providerCalls[c.name] = providerCallCount() - callsBefore;
        if (round === 0) continue; // the first round also warms the sandbox (dynalite, sockets)
        coldStart[c.name]?.ms.push(run.ms);
        coldStart[c.name]?.rssMiB.push(run.report.maxRssKiB / KIB_PER_MIB);
        coldStart[c.name]?.cpuMs.push(run.report.cpuMs);
      }
    }
    log('cold start done');

    // 4. Warm overhead: WARM dry runs in one process, minus the time with a request in flight.
    const sandboxCalls = () =>
      sandbox.aws.calls.length +
      sandbox.ncloud.calls.length +
      sandbox.otc.calls.length +
      sandbox.huaweicloud.calls.length;
    const warm: Record<string, WarmRow> = {};
    // The handlers' dry runs, and the preflight floor making the same reads: what the chain adds
    // over the SDK's own per-request work is the difference.
    const warmCases = [
      ...providers.map((p) => ({
        name: p.fn,
        bundle: p.fn,
        env,
        event: { provider: p.id, region: p.region, clusterId: p.demoClusterId, dryRun: true },
      })),
      { name: 'sdk-floor-preflight', bundle: 'sdk-floor-preflight', env: preflightPeerEnv, event: {} },
    ];
    for (const w of warmCases) {
      const callsBefore = sandboxCalls();
      const run = await runChild<{ samples: WarmSample[] }>(
        'warm-child.mjs',
        [(bundles[w.bundle] as Bundle).file, JSON.stringify(w.event), '20', String(WARM)],
        w.env,
        120_000,
      );
      const { samples } = run.report;
      const overheads = samples.map((s) => s.totalMs - s.networkMs).sort((a, b) => a - b);
      if (samples.some((s) => s.openRequests > 0))
        throw new Error(`${w.name}: a request outlived its invocation`);
      warm[w.name] = {
        overheadMs: median(overheads),
        p90OverheadMs: overheads[Math.floor(overheads.length * 0.9)] as number,
        totalMs: median(samples.map((s) => s.totalMs)),
        networkMs: median(samples.map((s) => s.networkMs)),
        requestsPerInvocation: samples.reduce((sum, s) => sum + s.requests, 0) / samples.length,
        // Cross-check from the sandbox's side (DynamoDB calls are not in its call logs).
        sandboxCallsPerInvocation: (sandboxCalls() - callsBefore) / (samples.length + 20),
      };
    }
    log('warm overhead done');

    // 5. Fleet: the state machine over n fresh clusters, round robin over the providers, read
    // from an inventory (JSON Lines) as on AWS: an inline list of 10,000 would pass 256 KB.
    const definitionFile = join(WORK, 'fleet-definition.json');
    await writeFile(
      definitionFile,
      JSON.stringify(service.stepFunctions.stateMachines.fleetRotation.definition),
    );
    const taskBundles = JSON.stringify(
      Object.fromEntries(providers.map((p) => [p.task, (bundles[p.fn] as Bundle).file])),
    );
    const inventory = async (file: string, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => {
        const p = providers[i % providers.length] as ProviderUnderTest;
        return `${JSON.stringify({ provider: p.id, region: p.region, clusterId: p.newCluster() })}\n`;
      });
      await writeFile(file, lines.join(''));
      return file;
    };
    const fleet: FleetRow[] = [];
    for (const n of FLEET) {
      const warmup = await inventory(join(WORK, `fleet-${n}-warmup.jsonl`), providers.length);
      const targets = await inventory(join(WORK, `fleet-${n}.jsonl`), n);
      const { report } = await runChild<FleetReport>(
        'fleet-child.ts',
        [definitionFile, warmup, targets, taskBundles],
        env,
        60_000 + n * 500,
        ['--expose-gc'],
      );
      if (report.succeeded !== n)
        throw new Error(`fleet of ${n}: ${report.failedCount} failed, e.g. ${JSON.stringify(report.failed)}`);
      fleet.push({
        clusters: n,
        totalMs: report.ms,
        msPerCluster: report.ms / n,
        peakRssGrowthKiBPerCluster: ((report.peakRssMiB - report.rssStartMiB) * KIB_PER_MIB) / n,
        retainedHeapKiBPerCluster: ((report.heapEndMiB - report.heapStartMiB) * KIB_PER_MIB) / n,
        rssStartMiB: report.rssStartMiB,
        peakRssMiB: report.peakRssMiB,
        parentEvents: report.parentEvents,
        eventsPerCluster: report.childEvents / n,
        maxEventsPerExecution: report.maxChildEvents,
      });
      log(`fleet of ${n} done`);
    }

    // 6. Results.
    const med = (samples: Samples | undefined) => ({
      ms: median(samples?.ms ?? []),
      cpuMs: median(samples?.cpuMs ?? []),
      rssMiB: median(samples?.rssMiB ?? []),
    });
    const floorImport = med(coldImport['sdk-floor']).ms;
    const floorImportCpu = med(coldImport['sdk-floor']).cpuMs;
    const naiveImport = med(coldImport.naive).ms;
    // A dry run must read its credentials from SSM: its limit is the floor that does too.
    const floorStart = med(coldStart['sdk-floor-ssm']).ms;
    const floorStartCpu = med(coldStart['sdk-floor-ssm']).cpuMs;
    // A dry run that is a preflight makes four reads more: its own floor makes them too.
    const preflightFloor = med(coldStart['sdk-floor-preflight']);
    const naiveStart = med(coldStart['naive reset']).ms;
    // The middleware chain's warm overhead: the handler's own time per dry run beyond the preflight
    // floor's, which spends its own on the SDK's work for the same five requests.
    const chainOverheadMs = (name: string) =>
      (warm[name]?.overheadMs ?? Infinity) - (warm['sdk-floor-preflight']?.overheadMs ?? 0);
    const rows = allNames.map((name) => {
      const b = bundles[name] as Bundle;
      const imp = med(coldImport[name]);
      const dry = med(coldStart[`${name} dry run`]);
      const rot = med(coldStart[`${name} rotation`]);
      const isProject = projectNames.includes(name);
      // The target is the cold start's: import and a first dry run. A first rotation (every client
      // and command used once, the polling) is reported beside it.
      const peakRssMiB = Math.max(imp.rssMiB, isProject ? dry.rssMiB : 0);
      const rotationPeakRssMiB = isProject ? rot.rssMiB : undefined;
      return {
        name,
        project: isProject,
        sizeKB: b.bytes / KB,
        sourceMapKB: b.mapBytes / KB,
        coldImportMs: imp.ms,
        coldImportVsFloor: imp.ms / floorImport,
        // The process's own CPU time: what the wall time would be on an idle machine.
        coldImportCpuVsFloor: imp.cpuMs / floorImportCpu,
        coldImportVsNaive: imp.ms / naiveImport,
        coldStart: isProject
          ? {
              dryRunMs: dry.ms,
              dryRunVsFloor: dry.ms / floorStart,
              dryRunCpuVsFloor: dry.cpuMs / floorStartCpu,
              dryRunVsPreflightFloor: dry.ms / preflightFloor.ms,
              dryRunCpuVsPreflightFloor: dry.cpuMs / preflightFloor.cpuMs,
              dryRunVsNaive: dry.ms / naiveStart,
              rotationMs: rot.ms,
              rotationVsFloor: rot.ms / floorStart,
              rotationVsNaive: rot.ms / naiveStart,
            }
          : undefined,
        importRssMiB: imp.rssMiB,
        peakRssMiB,
        rotationPeakRssMiB,
        targets: isProject
          ? {
              size: b.bytes / KB <= TARGETS.bundleKB,
              coldImportVsFloor: imp.ms / floorImport <= TARGETS.vsFloor,
              coldImportVsNaive: imp.ms / naiveImport <= TARGETS.vsNaive,
              coldStartVsFloor: dry.ms / floorStart <= TARGETS.vsFloor,
              coldStartVsPreflightFloor: dry.ms / preflightFloor.ms <= TARGETS.vsFloor,
              coldStartVsNaive: dry.ms / naiveStart <= TARGETS.vsNaive,
              peakRss: peakRssMiB <= TARGETS.rssMiB,
              warm: chainOverheadMs(name) < TARGETS.warmMs,
            }
          : undefined,
      };
    });
    // Linear: the cost per cluster at the largest fleet is within 1.25x of that at the next one down.
    const [previous, largest] = fleet.slice(-2);
    const linear =
      previous && largest
        ? {
            time: largest.msPerCluster <= previous.msPerCluster * TARGETS.fleetGrowth,
            memory:
              largest.peakRssGrowthKiBPerCluster <=
              Math.max(previous.peakRssGrowthKiBPerCluster, 1) * TARGETS.fleetGrowth,
          }
        : undefined;

    const out: string[] = [];
    out.push(
      `cluster-password-reset bench: Node ${process.versions.node}, ${availableParallelism()} cpus (${cpus()[0]?.model ?? '?'}), ` +
        `medians of ${RUNS} runs; esbuild options from serverless.yml custom.esbuild (minify: ${String(service.custom.esbuild.minify)}); ` +
        `child NODE_OPTIONS="${args['node-options']}" (deployed: "${deployedNodeOptions ?? ''}"); ` +
        `load average ${fixed(loadAtStart, 2)} at start, ${fixed(loadavg()[0] as number, 2)} at end\n`,
    );
    out.push(
      table(
        'Bundles and cold import (fresh process: await import(bundle); wall time spawn -> imported; KB = 1,000 bytes)',
        [
          'bundle',
          'size KB',
          'map KB',
          'import ms',
          'vs floor',
          'CPU vs floor',
          'vs naive',
          'RSS MiB',
          'size<=900',
          'imp<=1.10xF',
          'imp<=0.85xN',
        ],
        rows.map((r) => [
          r.name,
          fixed(r.sizeKB, 0),
          fixed(r.sourceMapKB, 0),
          fixed(r.coldImportMs),
          ratio(r.coldImportVsFloor),
          ratio(r.coldImportCpuVsFloor),
          ratio(r.coldImportVsNaive),
          fixed(r.importRssMiB),
          r.targets ? mark(r.targets.size) : '',
          r.targets ? mark(r.targets.coldImportVsFloor) : '',
          r.targets ? mark(r.targets.coldImportVsNaive) : '',
        ]),
      ),
    );
    const startRows = rows.flatMap(({ name, coldStart: c, targets: t, peakRssMiB, rotationPeakRssMiB }) =>
      c && t
        ? [
            [
              name,
              fixed(c.dryRunMs),
              String(providerCalls[`${name} dry run`] ?? '?'),
              ratio(c.dryRunVsFloor),
              ratio(c.dryRunCpuVsFloor),
              ratio(c.dryRunVsPreflightFloor),
              ratio(c.dryRunCpuVsPreflightFloor),
              ratio(c.dryRunVsNaive),
              fixed(c.rotationMs),
              ratio(c.rotationVsFloor),
              ratio(c.rotationVsNaive),
              fixed(peakRssMiB),
              fixed(rotationPeakRssMiB ?? 0),
              mark(t.coldStartVsFloor),
              mark(t.coldStartVsPreflightFloor),
              mark(t.coldStartVsNaive),
              mark(t.peakRss),
            ],
          ]
        : [],
    );
    for (const [name, label] of [
      ['naive reset', 'naive (its OTC reset)'],
      ['sdk-floor', 'sdk-floor (answers, no call)'],
      ['sdk-floor-ssm', 'sdk-floor-ssm (answers after GetParameters)'],
      ['sdk-floor-preflight', "sdk-floor-preflight (after a dry run's five reads)"],
      ['empty', 'empty (answers)'],
    ] as const) {
      const m = med(coldStart[name]);
      startRows.push([
        label,
        fixed(m.ms),
        name === 'sdk-floor-preflight' ? String(providerCalls[name] ?? '?') : '',
        ratio(m.ms / floorStart),
        ratio(m.cpuMs / floorStartCpu),
        ratio(m.ms / preflightFloor.ms),
        ratio(m.cpuMs / preflightFloor.cpuMs),
        ratio(m.ms / naiveStart),
        '',
        '',
        '',
        fixed(m.rssMiB),
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    out.push(
      table(
        'Cold start (fresh process: import + first answer against the sandbox; peers: their one invocation; ' +
          'floor = sdk-floor-ssm; preflight floor = sdk-floor-preflight; provider calls = requests of the dry run to the simulated provider)',
        [
          'handler',
          'dry ms',
          'provider calls',
          'vs floor',
          'CPU vs floor',
          'vs preflight floor',
          'CPU vs preflight floor',
          'vs naive',
          'rotation ms',
          'vs floor',
          'vs naive',
          'peak RSS MiB (dry run)',
          'rotation RSS MiB',
          'dry<=1.10xF',
          'dry<=1.10xPF',
          'dry<=0.85xN',
          'RSS<=80',
        ],
        startRows,
      ),
    );
    out.push(
      table(
        `Warm overhead (${WARM} dry runs after 20 in one process; overhead = invocation time - time with a sandbox request in flight; chain = a handler's overhead - sdk-floor-preflight's, which makes the same requests)`,
        [
          'handler',
          'overhead ms',
          'p90 ms',
          'total ms',
          'network ms',
          'requests/inv',
          'sandbox calls/inv',
          'chain = overhead - floor ms',
          'chain<1 ms',
        ],
        warmCases.map(({ name }) => {
          const w = warm[name] as WarmRow;
          const isPeer = name === 'sdk-floor-preflight';
          return [
            name,
            fixed(w.overheadMs, 3),
            fixed(w.p90OverheadMs as number, 3),
            fixed(w.totalMs, 3),
            fixed(w.networkMs, 3),
            fixed(w.requestsPerInvocation, 2),
            fixed(w.sandboxCallsPerInvocation, 2),
            isPeer ? '' : fixed(chainOverheadMs(name), 3),
            isPeer ? '' : mark(chainOverheadMs(name) < TARGETS.warmMs),
          ];
        }),
      ),
    );
    out.push(
      table(
        'Fleet rotation (state machine from serverless.yml, Distributed Maps run by sandbox/run-fleet.ts, MaxConcurrency as ' +
          'resolved; an inventory of fresh clusters; the 3 handlers in one process after a warm-up fleet of 3; RSS sampled ' +
          'every 10 ms; history events as Step Functions would record them)',
        [
          'clusters',
          'total s',
          'ms/cluster',
          'RSS before MiB',
          'peak RSS MiB',
          'peak RSS growth KiB/cluster',
          'retained heap KiB/cluster',
          'parent events',
          'child events/cluster',
          'max events/execution',
        ],
        fleet.map((f) => [
          String(f.clusters),
          fixed(f.totalMs / 1000, 2),
          fixed(f.msPerCluster, 2),
          fixed(f.rssStartMiB),
          fixed(f.peakRssMiB),
          fixed(f.peakRssGrowthKiBPerCluster),
          fixed(f.retainedHeapKiBPerCluster),
          String(f.parentEvents),
          fixed(f.eventsPerCluster, 1),
          String(f.maxEventsPerExecution),
        ]),
      ),
    );
    if (linear)
      out.push(
        `Fleet linearity (per-cluster cost at ${largest?.clusters} <= ${TARGETS.fleetGrowth}x that at ${previous?.clusters}): ` +
          `time ${mark(linear.time)}, memory ${mark(linear.memory)}\n`,
      );
    const wallS = (performance.now() - started) / 1000;
    out.push(`Total wall time: ${fixed(wallS)} s`);
    process.stdout.write(`${out.join('\n')}\n`);

    await mkdir(dirname(resolve(args.out)), { recursive: true });
    await writeFile(
      resolve(args.out),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.versions.node,
          cpus: availableParallelism(),
          runs: RUNS,
          warmInvocations: WARM,
          childNodeOptions: args['node-options'],
          esbuild: service.custom.esbuild,
          targets: TARGETS,
          handlers: rows,
          dryRunProviderCalls: providerCalls,
          coldStartPeers: Object.fromEntries(
            ['naive reset', 'sdk-floor', 'sdk-floor-ssm', 'sdk-floor-preflight', 'empty'].map((name) => [
              name,
              med(coldStart[name]),
            ]),
          ),
          warm,
          fleet,
          fleetLinear: linear,
          samples: { coldImport, coldStart },
          wallSeconds: wallS,
          loadAverage: { start: loadAtStart, end: loadavg()[0] },
        },
        null,
        2,
      )}\n`,
    );
    log(`wrote ${args.out}`);
  } finally {
    forwarder.server.closeAllConnections();
    forwarder.server.close();
    await sandbox.close();
  }
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    killChildren();
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
