import { readFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { lambdaInvokeTask } from '../../sandbox/lambda-invoke.ts';
import { runLocally } from '../../sandbox/run-fleet.ts';
import { lambdaContext } from '../../tests/support/events.ts';

// One fleet rotation in a process of its own (so that its memory is the runner's and the
// handlers', not the sandbox's): the state machine as serverless.yml resolves it, run as
// sandbox/run-fleet.ts runs it (aws-local-stepfunctions, a child execution per cluster), with each
// Task state invoking the packaged handler in this process. A small fleet runs first, unmeasured,
// so that the figures are the fleet's and not the first invocation's (credentials, the
// fingerprint key, lazy loading, JIT). Run with --expose-gc.
//   node --expose-gc fleet-child.ts <definition.json> <warm-up.jsonl> <fleet.jsonl> <{ taskState: bundle }>

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const [definitionFile, warmupFile, fleetFile, bundlesJson] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const definition = JSON.parse(readFileSync(definitionFile, 'utf8'));
const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
for (const [state, bundle] of Object.entries(JSON.parse(bundlesJson) as Record<string, string>)) {
  const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
  handlers[state] = lambdaInvokeTask((payload) => handler(payload, lambdaContext()));
}

// Retry waits shortened as in the integration tests; distinct clusters should need none.
const run = (file: string) =>
  runLocally(definition, { inventory: { key: file, format: 'JSONL' } }, handlers, { retryIntervalMs: 5 });
const warm = await run(warmupFile);
if (warm.failed.length > 0) throw new Error(`warm-up failed: ${JSON.stringify(warm.failed)}`);

const gc = globalThis.gc as () => void;
const MiB = 1024 * 1024;
gc();
const before = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed };
// maxRSS would keep the start-up peak: sample the RSS during the run instead.
let peakRss = before.rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 10);
const started = performance.now();
const fleet = await run(fleetFile);
const ms = performance.now() - started;
clearInterval(sampler);
const rssEnd = process.memoryUsage.rss();
peakRss = Math.max(peakRss, rssEnd);
gc();
const childEvents = fleet.history.children.map((c) => c.events);
const report = {
  ms,
  succeeded: fleet.succeeded.length,
  failed: fleet.failed.slice(0, 3),
  failedCount: fleet.failed.length,
  rssStartMiB: before.rss / MiB,
  peakRssMiB: peakRss / MiB,
  rssEndMiB: rssEnd / MiB,
  heapStartMiB: before.heap / MiB,
  heapEndMiB: process.memoryUsage().heapUsed / MiB,
  parentEvents: fleet.history.parent,
  childEvents: childEvents.reduce((sum, n) => sum + n, 0),
  maxChildEvents: Math.max(...childEvents),
};
writeSync(3, `${JSON.stringify(report)}\n`);
process.exit(0);
