import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, expect, it } from 'vitest';
import {
  HISTORY_EVENT_LIMIT,
  PAYLOAD_LIMIT_BYTES,
  runExecution,
  type StatesError,
} from '../../sandbox/distributed-map.ts';
import { lambdaInvokeTask } from '../../sandbox/lambda-invoke.ts';
import { fleetDefinition, runLocally, TASK_FUNCTIONS } from '../../sandbox/run-fleet.ts';
import { report } from './suite.ts';

// The platform's limits, kept by the local runner as Step Functions keeps them: 256 KB per
// execution input and per state input or output, 25,000 history events per execution. The
// handlers here are stand-ins (the history and the payloads are the state machine's); the fleet
// of 10,000 is the "done when".

// biome-ignore lint/suspicious/noExplicitAny: an ASL definition, as `serverless print` resolves it
let definition: Record<string, any>;
beforeAll(async () => {
  definition = await fleetDefinition('local');
}, 60_000);

const answer = (extra: (payload: Record<string, unknown>) => Record<string, unknown> = () => ({})) =>
  lambdaInvokeTask(async (payload) => ({
    ok: true,
    clusterId: (payload as { clusterId: string }).clusterId,
    ...extra(payload as Record<string, unknown>),
  }));
const handlersOf = (handler: ReturnType<typeof answer>) =>
  Object.fromEntries(Object.keys(TASK_FUNCTIONS).map((state) => [state, handler]));

const clusters = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    provider: 'otc-css',
    region: 'eu-de',
    clusterId: `0b7c6a4e-0000-4000-8000-${String(i).padStart(12, '0')}`,
  }));
const failureOf = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as Error & { cause?: StatesError };
  expect(error).toBeInstanceOf(Error);
  return error.cause as StatesError;
};

it('rotates 10,000 clusters from an inventory in one execution, within every limit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-10k-'));
  const inventory = join(dir, 'fleet.jsonl');
  const n = 10_000;
  await writeFile(
    inventory,
    `${clusters(n)
      .map((c) => JSON.stringify(c))
      .join('\n')}\n`,
  );
  const started = Date.now();
  const run = await runLocally(
    definition,
    { inventory: { key: inventory, format: 'JSONL' } },
    handlersOf(answer()),
    {
      resultsDir: dir,
    },
  );
  expect(run.output.counts).toEqual({ total: n, succeeded: n, failed: 0, timedOut: 0, aborted: 0 });
  const rotations = run.history.children.filter((c) => c.map === 'RotateJsonLines');
  expect(rotations).toHaveLength(n);
  expect(Math.max(...run.history.children.map((c) => c.events))).toBeLessThanOrEqual(10);
  expect(run.history.parent).toBeLessThanOrEqual(30);
  // The output stays small whatever the fleet: its results are in the files.
  expect(Buffer.byteLength(JSON.stringify(run.output))).toBeLessThan(2048);
  report(
    `fleet of ${n}: ${Date.now() - started} ms locally, parent ${run.history.parent} events, ` +
      `children ${Math.max(...run.history.children.map((c) => c.events))} events at most`,
  );
}, 300_000);

it('refuses an execution input over 256 KB, as Step Functions does, before any cluster', async () => {
  // About 300 bytes a target: the inline list is for small fleets, an inventory for the rest.
  const targets = clusters(3000).map((c) => ({
    ...c,
    secretId: `cluster-password-reset/local/otc-css/${'x'.repeat(180)}`,
  }));
  expect(Buffer.byteLength(JSON.stringify({ targets }))).toBeGreaterThan(PAYLOAD_LIMIT_BYTES);
  let invoked = 0;
  const cause = await failureOf(
    runLocally(
      definition,
      { targets },
      handlersOf(
        answer(() => {
          invoked++;
          return {};
        }),
      ),
    ),
  );
  expect(cause.name).toBe('States.DataLimitExceeded');
  expect(invoked).toBe(0);
});

it("fails a Map whose collected results pass 256 KB: why the fleet's Maps write theirs to S3", async () => {
  const withoutWriter = structuredClone(definition);
  delete withoutWriter.States.RotateTargets.ResultWriter;
  withoutWriter.States.RotateTargets.ResultPath = '$.rotation';
  withoutWriter.States.RotateTargets.Next = 'Report';
  // Each result about 200 bytes: 2,000 of them are 400 KB in one state output.
  const handler = answer(() => ({ note: 'y'.repeat(150) }));
  const cause = await failureOf(runLocally(withoutWriter, { targets: clusters(2000) }, handlersOf(handler)));
  expect(cause.name).toBe('States.DataLimitExceeded');
  expect(cause.message).toContain('RotateTargets');
  // The shipped definition, same fleet: it passes.
  const shipped = await runLocally(definition, { targets: clusters(2000) }, handlersOf(handler));
  expect(shipped.output.counts.succeeded).toBe(2000);
}, 120_000);

it("fails a cluster whose handler's answer passes 256 KB, and only that cluster", async () => {
  const handler = answer((payload) =>
    String(payload.clusterId).endsWith('1') ? { huge: 'z'.repeat(PAYLOAD_LIMIT_BYTES) } : {},
  );
  const run = await runLocally(definition, { targets: clusters(3) }, handlersOf(handler));
  expect(run.output.counts).toMatchObject({ total: 3, succeeded: 2, failed: 1 });
  expect(run.failed.map((f) => f.code)).toEqual(['States.DataLimitExceeded']);
});

it('ends an execution past 25,000 history events, as an inline Map over every cluster would', async () => {
  // The old design in miniature: one inline Map whose items each enter a few states in the
  // parent's history (here 8 events an item): 3,200 items pass 25,000.
  const inline = new StateMachine(
    {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'A',
            States: {
              A: { Type: 'Pass', Next: 'B' },
              B: { Type: 'Pass', Next: 'C' },
              C: { Type: 'Pass', End: true },
            },
          },
          ResultPath: null,
          End: true,
        },
      },
    } as never,
    { validationOptions: { checkArn: false } },
  );
  const items = Array.from({ length: 3200 }, (_, i) => i);
  const error = (await runExecution(inline, { items }, {}, {}).catch((e: unknown) => e)) as StatesError;
  expect(error.name).toBe('States.Runtime');
  expect(error.message).toContain(String(HISTORY_EVENT_LIMIT));
  // 3,000 fit.
  const fits = await runExecution(inline, { items: items.slice(0, 3000) }, {}, {});
  expect(fits.historyEvents).toBeLessThanOrEqual(HISTORY_EVENT_LIMIT);
}, 120_000);
