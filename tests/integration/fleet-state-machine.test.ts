import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { lambdaInvokeTask } from '../../sandbox/lambda-invoke.ts';
import { type FleetRun, fleetDefinition, runLocally, TASK_FUNCTIONS } from '../../sandbox/run-fleet.ts';
import { lambdaContext } from '../support/events.ts';
import { report, useSuite } from './suite.ts';

// The fleet-rotation state machine exactly as serverless.yml defines it, run by
// aws-local-stepfunctions (its Distributed Maps' children by sandbox/distributed-map.ts, one
// execution per cluster). Its Task states call the real handlers in this process (against the
// sandbox), through a stand-in for the lambda:invoke integration; no state can reach AWS.

const suite = useSuite();
// biome-ignore lint/suspicious/noExplicitAny: an ASL definition, as `serverless print` resolves it
let definition: Record<string, any>;

/** The provider of each function a Task invokes, by its logical id. */
const PROVIDER_OF_FUNCTION: Record<string, string> = {
  NcloudCdssResetCmakPasswordLambdaFunction: 'ncloud-cdss',
  OtcCssResetAdminPasswordLambdaFunction: 'otc-css',
  HuaweicloudCssResetAdminPasswordLambdaFunction: 'huaweicloud-css',
};

/** Every payload a Task handed to a handler (by the function it invokes), in the order they were sent. */
let payloads: Array<{ fn: string; payload: Record<string, unknown> }> = [];

const taskHandlers = () =>
  Object.fromEntries(
    Object.entries(PROVIDER_OF_FUNCTION).map(([fn, providerId]) => [
      fn,
      lambdaInvokeTask((payload) => {
        payloads.push({ fn, payload: payload as Record<string, unknown> });
        return suite.handler(providerId)(payload, lambdaContext());
      }),
    ]),
  );

let lastRun: FleetRun | undefined;
const run = async (input: Record<string, unknown>) => {
  payloads = [];
  lastRun = undefined;
  lastRun = await runLocally(definition, input, taskHandlers(), { retryIntervalMs: 5 });
  return lastRun;
};
const runTargets = (targets: unknown[], options: Record<string, unknown> = {}) =>
  run({ ...options, targets });

/** The history events of each rotation child of the last run, in item order. */
const rotationEvents = () =>
  (lastRun as FleetRun).history.children.filter((c) => c.map.startsWith('Rotate')).map((c) => c.events);

/** What an API Gateway event adds to an envelope: none of it may reach a handler from a fleet. */
const httpShaped = (password: string) => ({
  httpMethod: 'POST',
  resource: '/otc/css/{region}/clusters/{clusterId}/admin-password',
  headers: { 'content-type': 'application/json', 'Idempotency-Key': 'from-a-header' },
  pathParameters: { region: 'eu-de', clusterId: 'from-a-path' },
  requestContext: { httpMethod: 'POST', identity: { caller: 'someone' } },
  body: JSON.stringify({ password }),
  isBase64Encoded: false,
});

const target = (providerId: string, clusterId: string, extra: Record<string, unknown> = {}) => ({
  provider: providerId,
  region: suite.harness(providerId).region,
  clusterId,
  ...extra,
});

const causeName = (error: unknown) => ((error as Error).cause as Error | undefined)?.name;

beforeAll(async () => {
  definition = await fleetDefinition('local');
}, 60_000);

// biome-ignore lint/suspicious/noExplicitAny: ASL states
const tasks = (states: Record<string, any>): Array<[string, any]> =>
  Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [[name, state] as [string, unknown]] : []),
    ...(state.ItemProcessor ? tasks(state.ItemProcessor.States) : []),
  ]);

it('has a local handler for every Task state, so no test can call AWS', () => {
  const invoking = tasks(definition.States).filter(([name]) => name !== 'Summarize');
  // A rotation Task per provider in each of the three sources' Rotate maps.
  expect(invoking).toHaveLength(9);
  const invoked = new Set(invoking.map(([, state]) => state.Parameters.FunctionName['Fn::GetAtt'][0]));
  expect([...invoked].sort()).toEqual(Object.keys(PROVIDER_OF_FUNCTION).sort());
  expect(Object.keys(TASK_FUNCTIONS).sort()).toEqual([...invoked].sort());
  // The one other Task, answered by the local Distributed Map runner.
  expect(definition.States.Summarize.Resource).toBe('arn:aws:states:::aws-sdk:sfn:describeMapRun');
  expect(definition.States.RotateTargets.MaxConcurrency).toBe(5);
});

it('retries a throttled rotation and succeeds, with one password stored and set', async () => {
  const { id } = suite.cluster('otc-css');
  suite
    .harness('otc-css')
    .addFault({ operation: 'reset', clusterId: id, status: 429, body: { error_code: 'APIGW.0308' } });
  const summary = await runTargets([target('otc-css', id)]);
  expect(summary.failed).toEqual([]);
  expect(summary.succeeded).toHaveLength(1);
  expect(summary.succeeded[0]).toMatchObject({ ok: true, clusterId: id });
  expect(
    suite
      .harness('otc-css')
      .calls(id, 'reset')
      .map((c) => c.status),
  ).toEqual([429, 200]);
  const stored = suite.sandbox.aws.secretValue(suite.secretName('otc-css', id))?.password;
  expect(suite.harness('otc-css').clusterPassword(id)).toBe(stored);
  // 9 events, and the retry's TaskFailed, TaskScheduled, TaskStarted.
  expect(rotationEvents()).toEqual([12]);
});

it('routes a Huawei Cloud target to its own handler, and never to OTC', async () => {
  const { id } = suite.cluster('huaweicloud-css');
  const summary = await runTargets([target('huaweicloud-css', id)]);
  expect(summary.failed).toEqual([]);
  expect(summary.succeeded[0]).toMatchObject({ ok: true, provider: 'huaweicloud-css', clusterId: id });
  const stored = suite.sandbox.aws.secretValue(suite.secretName('huaweicloud-css', id))?.password;
  expect(suite.harness('huaweicloud-css').clusterPassword(id)).toBe(stored);
  expect(suite.harness('otc-css').calls(id)).toEqual([]);
});

it('puts a non-retryable failure in `failed` with its code and message, and goes on', async () => {
  const missing = suite.harness('ncloud-cdss').newClusterId();
  const { id } = suite.cluster('ncloud-cdss');
  const summary = await runTargets([target('ncloud-cdss', missing), target('ncloud-cdss', id)]);
  expect(summary.failed).toEqual([
    {
      target: target('ncloud-cdss', missing),
      code: 'ClusterNotFound',
      message: 'Naver Cloud answered HTTP 404: Not Found: no such cluster',
    },
  ]);
  expect(summary.succeeded.map((r) => r.clusterId)).toEqual([id]);
  expect(suite.harness('ncloud-cdss').calls(missing, 'reset')).toEqual([]);
  // A failed child: its Task fails, then the execution (8 events); a rotated one: 9.
  expect(rotationEvents()).toEqual([8, 9]);
});

it('ends a mixed fleet of 20 with the right summary and stored == provider for every success', async () => {
  const ok: Array<{ provider: string; id: string }> = [];
  const targets: unknown[] = [];
  const expectedFailures: Array<{ clusterId: unknown; code: string }> = [];
  for (let i = 0; i < 7; i++) {
    for (const providerId of ['ncloud-cdss', 'otc-css']) {
      const { id } = suite.cluster(providerId);
      if (i === 0) {
        // Busy once, then available: retried and rotated.
        suite.harness(providerId).addFault({ operation: 'reset', clusterId: id, status: 409, body: {} });
      }
      ok.push({ provider: providerId, id });
      targets.push(target(providerId, id));
    }
  }
  const missing = suite.harness('otc-css').newClusterId();
  targets.push(target('otc-css', missing));
  expectedFailures.push({ clusterId: missing, code: 'ClusterNotFound' });
  // A field no envelope has: refused by the handler's strict schema.
  const extra = suite.cluster('ncloud-cdss');
  targets.push(target('ncloud-cdss', extra.id, { comment: 'prod' }));
  expectedFailures.push({ clusterId: extra.id, code: 'ValidationFailed' });
  const badAccount = suite.cluster('otc-css');
  targets.push(target('otc-css', badAccount.id, { account: 'nobody' }));
  expectedFailures.push({ clusterId: badAccount.id, code: 'CredentialsUnavailable' });
  const noSecurity = suite.cluster('otc-css');
  (suite.sandbox.otc.cluster('eu-de', noSecurity.id) as { authorityEnable: boolean }).authorityEnable = false;
  targets.push(target('otc-css', noSecurity.id));
  expectedFailures.push({ clusterId: noSecurity.id, code: 'PreconditionFailed' });
  targets.push({ provider: 'azure-hdinsight', region: 'x', clusterId: 'y' });
  expectedFailures.push({ clusterId: 'y', code: 'ValidationFailed' });
  targets.push({ region: 'KR', clusterId: 'z' });
  expectedFailures.push({ clusterId: 'z', code: 'ValidationFailed' });
  expect(targets).toHaveLength(20);

  const started = Date.now();
  const summary = await runTargets(targets);
  report(
    `fleet state machine: ${targets.length} targets, ${summary.succeeded.length} succeeded, ${summary.failed.length} failed, ${Date.now() - started} ms`,
  );
  expect(summary.succeeded.map((r) => r.clusterId).sort()).toEqual(ok.map((c) => c.id).sort());
  expect(
    summary.failed.map((f) => ({ clusterId: (f.target as { clusterId: unknown }).clusterId, code: f.code })),
  ).toEqual(expectedFailures);
  expect(summary.output.counts).toEqual({
    total: 20,
    succeeded: ok.length,
    failed: expectedFailures.length,
    timedOut: 0,
    aborted: 0,
  });
  for (const { provider, id } of ok) {
    const stored = suite.sandbox.aws.secretValue(suite.secretName(provider, id))?.password as string;
    suite.secretsUsed.add(stored);
    expect(suite.harness(provider).clusterPassword(id)).toBe(stored);
  }
  // No execution holds more than 10 events per cluster but for retries (3 each).
  expect(Math.max(...summary.history.children.map((c) => c.events))).toBeLessThanOrEqual(12);
  // The output, the results written and the lists hold results and targets, never a password.
  const written = await readFile(summary.output.results.Key, 'utf8');
  const text = JSON.stringify({ ...summary, mapRuns: undefined }) + written;
  expect(
    ok.some(({ provider, id }) => text.includes(suite.harness(provider).clusterPassword(id) as string)),
  ).toBe(false);
});

it("writes the results as the ResultWriter does: a manifest, each cluster's output or error", async () => {
  const { id } = suite.cluster('otc-css');
  const missing = suite.harness('otc-css').newClusterId();
  const summary = await runTargets([target('otc-css', id), target('otc-css', missing)]);
  const manifest = JSON.parse(await readFile(summary.output.results.Key, 'utf8'));
  expect(Object.keys(manifest.ResultFiles)).toEqual(['SUCCEEDED', 'FAILED', 'PENDING']);
  const dir = join(summary.output.results.Key, '..', '..', '..', '..');
  const lines = async (status: string) =>
    (await readFile(join(dir, manifest.ResultFiles[status][0].Key), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  const [succeeded] = await lines('SUCCEEDED');
  expect(JSON.parse(succeeded.Output)).toMatchObject({ ok: true, clusterId: id });
  const [failed] = await lines('FAILED');
  expect(failed).toMatchObject({ Status: 'FAILED', Error: 'ClusterNotFound' });
  expect(JSON.parse(failed.Input).target).toEqual(target('otc-css', missing));
});

it('summarizes a fleet where everything fails, and refuses an empty fleet at once', async () => {
  const missing = suite.harness('otc-css').newClusterId();
  const allFailed = await runTargets([target('otc-css', missing)]);
  expect(allFailed.succeeded).toEqual([]);
  expect(allFailed.failed.map((f) => f.code)).toEqual(['ClusterNotFound']);
  expect(allFailed.output.counts).toMatchObject({ total: 1, succeeded: 0, failed: 1 });
  for (const input of [{ targets: [] }, {}, { inventory: { key: 'x.jsonl' } }]) {
    const refused = await run(input).catch((error: Error) => error);
    expect(causeName(refused)).toBe('ValidationFailed');
    expect(payloads).toEqual([]);
  }
});

it('fails at once, TargetRefused, when a target carries a password or an event shape, invoking no handler', async () => {
  const clean = suite.cluster('otc-css');
  const other = suite.cluster('otc-css');
  for (const bad of [
    target('otc-css', other.id, { password: 'Plain-text1!' }),
    target('otc-css', other.id, httpShaped('Plain-text1!')),
    { ...target('otc-css', other.id), 'detail-type': 'x', source: 'y', detail: {} },
  ]) {
    const failure = await runTargets([target('otc-css', clean.id), bad]).catch((error: Error) => error);
    expect(causeName(failure)).toBe('TargetRefused');
    expect(payloads).toEqual([]);
  }
  // A fleet-wide password, or a dryRun that is not a boolean, before any Map.
  const topLevel = await runTargets([target('otc-css', clean.id)], { password: 'Plain-text1!' }).catch(
    (error: Error) => error,
  );
  expect(causeName(topLevel)).toBe('PasswordNotAllowed');
  const notBoolean = await runTargets([target('otc-css', clean.id)], { dryRun: 'yes' }).catch(
    (error: Error) => error,
  );
  expect(causeName(notBoolean)).toBe('ValidationFailed');
  expect(suite.harness('otc-css').calls(clean.id)).toEqual([]);
  expect(suite.harness('otc-css').calls(other.id)).toEqual([]);
});

it("hands each handler a payload built in one step, the fleet's options over the target's, the execution as caller", async () => {
  const { id } = suite.cluster('otc-css');
  const second = suite.cluster('otc-css');
  const summary = await runTargets(
    [
      target('otc-css', id, { account: 'default', storePassword: true, caller: 'someone-else' }),
      target('otc-css', second.id, { idempotencyKey: 'k-1' }),
    ],
    { dryRun: true },
  );
  const sent = payloads.map((p) => p.payload);
  const caller = sent[0]?.caller as string;
  expect(caller).toMatch(/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/);
  const executionName = caller.split(':').at(-1);
  expect(sent).toContainEqual({
    provider: 'otc-css',
    region: 'eu-de',
    clusterId: id,
    account: 'default',
    storePassword: true,
    dryRun: true,
    idempotencyKey: `${executionName}-0`,
    caller,
  });
  expect(sent).toContainEqual({
    provider: 'otc-css',
    region: 'eu-de',
    clusterId: second.id,
    dryRun: true,
    idempotencyKey: 'k-1',
    caller,
  });
  expect(payloads.every((p) => p.fn === 'OtcCssResetAdminPasswordLambdaFunction')).toBe(true);
  // The fleet-wide dry run: every cluster a preflight, none reset.
  expect(summary.failed).toEqual([]);
  expect(summary.succeeded.map((r) => r.dryRun)).toEqual([true, true]);
  expect(summary.output.options).toEqual({ dryRun: true });
  expect(suite.harness('otc-css').calls(id, 'reset')).toEqual([]);
  expect(suite.harness('otc-css').calls(second.id, 'reset')).toEqual([]);
});

it('reads an inventory (JSON Lines, CSV) as the ItemReader does, with the same results', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-inventory-'));
  const a = suite.cluster('ncloud-cdss');
  const b = suite.cluster('otc-css');
  const jsonl = join(dir, 'fleet.jsonl');
  await writeFile(
    jsonl,
    `${JSON.stringify(target('ncloud-cdss', a.id))}\n${JSON.stringify(target('otc-css', b.id))}\n`,
  );
  const fromLines = await run({ dryRun: true, inventory: { key: jsonl, format: 'JSONL' } });
  expect(fromLines.succeeded.map((r) => r.clusterId)).toEqual([a.id, b.id]);
  const csv = join(dir, 'fleet.csv');
  await writeFile(csv, `provider,region,clusterId\nncloud-cdss,KR,${a.id}\n"otc-css",eu-de,${b.id}\n`);
  const fromCsv = await run({ dryRun: true, inventory: { key: csv, format: 'CSV' } });
  expect(fromCsv.succeeded.map((r) => r.clusterId)).toEqual([a.id, b.id]);
  expect(payloads.map((p) => p.fn)).toEqual([
    'NcloudCdssResetCmakPasswordLambdaFunction',
    'OtcCssResetAdminPasswordLambdaFunction',
  ]);
});

it("keeps every execution's history within its limits: at most 10 events per cluster, a parent that does not grow", async () => {
  // Stand-in handlers: the history is the state machine's, whatever the handler does.
  const answer = lambdaInvokeTask(async (payload) => ({ ok: true, ...(payload as object) }));
  const handlers = Object.fromEntries(Object.keys(PROVIDER_OF_FUNCTION).map((fn) => [fn, answer]));
  const fleet = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ provider: 'otc-css', region: 'eu-de', clusterId: `c-${i}` }));
  const parents: number[] = [];
  for (const n of [1, 10, 200]) {
    const result = await runLocally(definition, { targets: fleet(n) }, handlers);
    expect(result.output.counts).toMatchObject({ total: n, succeeded: n });
    parents.push(result.history.parent);
    const byMap = (prefix: string) =>
      result.history.children.filter((c) => c.map.startsWith(prefix)).map((c) => c.events);
    // A check child: Started, Choice (2), Succeed (2), Succeeded. A rotation: 9.
    expect(new Set(byMap('Check'))).toEqual(new Set([6]));
    expect(new Set(byMap('Rotate'))).toEqual(new Set([9]));
    expect(byMap('Rotate')).toHaveLength(n);
  }
  expect(new Set(parents).size).toBe(1);
  expect(parents[0]).toBeLessThanOrEqual(30);
  report(
    `fleet history: parent ${parents[0]} events at 1, 10 and 200 clusters; 6 + 9 per cluster in children`,
  );
});
