import { beforeAll, expect, it } from 'vitest';
import { lambdaInvokeTask } from '../../sandbox/lambda-invoke.ts';
import { fleetDefinition, runLocally, TASK_FUNCTIONS } from '../../sandbox/run-fleet.ts';
import { lambdaContext } from '../support/events.ts';
import { report, useSuite } from './suite.ts';

// The fleet-rotation state machine exactly as serverless.yml defines it, run by
// aws-local-stepfunctions. Its Task states call the real handlers in this process (against the
// sandbox), through a stand-in for the lambda:invoke integration; no state can reach AWS.

const suite = useSuite();
let definition: Record<string, any>;

const PROVIDER_OF_TASK: Record<string, string> = {
  RotateNcloudCdss: 'ncloud-cdss',
  RotateOtcCss: 'otc-css',
  RotateHuaweicloudCss: 'huaweicloud-css',
};

const taskHandlers = () =>
  Object.fromEntries(
    Object.entries(PROVIDER_OF_TASK).map(([state, providerId]) => [
      state,
      lambdaInvokeTask((payload) => suite.handler(providerId)(payload, lambdaContext())),
    ]),
  );

const run = (targets: unknown[]) =>
  runLocally(definition, { targets }, taskHandlers(), { retryIntervalMs: 5 }) as Promise<{
    succeeded: Array<Record<string, any>>;
    failed: Array<{ target: Record<string, unknown>; code: string; message: string }>;
  }>;

const target = (providerId: string, clusterId: string, extra: Record<string, unknown> = {}) => ({
  provider: providerId,
  region: suite.harness(providerId).region,
  clusterId,
  ...extra,
});

beforeAll(async () => {
  definition = await fleetDefinition('local');
}, 60_000);

const taskStates = (states: Record<string, any>): string[] =>
  Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [name] : []),
    ...(state.ItemProcessor ? taskStates(state.ItemProcessor.States) : []),
    ...(state.Iterator ? taskStates(state.Iterator.States) : []),
    ...(state.Branches ?? []).flatMap((branch: { States: Record<string, any> }) => taskStates(branch.States)),
  ]);

it('has a local handler for every Task state, so no test can call AWS', () => {
  const tasks = taskStates(definition.States);
  expect(tasks.sort()).toEqual(Object.keys(PROVIDER_OF_TASK).sort());
  expect(Object.keys(TASK_FUNCTIONS).sort()).toEqual(tasks.sort());
  expect(definition.States.RotateEach.MaxConcurrency).toBe(5);
});

it('retries a throttled rotation and succeeds, with one password stored and set', async () => {
  const { id } = suite.cluster('otc-css');
  suite
    .harness('otc-css')
    .addFault({ operation: 'reset', clusterId: id, status: 429, body: { error_code: 'APIGW.0308' } });
  const summary = await run([target('otc-css', id)]);
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
});

it('routes a Huawei Cloud target to its own handler, and never to OTC', async () => {
  const { id } = suite.cluster('huaweicloud-css');
  const summary = await run([target('huaweicloud-css', id)]);
  expect(summary.failed).toEqual([]);
  expect(summary.succeeded[0]).toMatchObject({ ok: true, provider: 'huaweicloud-css', clusterId: id });
  const stored = suite.sandbox.aws.secretValue(suite.secretName('huaweicloud-css', id))?.password;
  expect(suite.harness('huaweicloud-css').clusterPassword(id)).toBe(stored);
  expect(suite.harness('otc-css').calls(id)).toEqual([]);
});

it('puts a non-retryable failure in `failed` with its code and message, and goes on', async () => {
  const missing = suite.harness('ncloud-cdss').newClusterId();
  const { id } = suite.cluster('ncloud-cdss');
  const summary = await run([target('ncloud-cdss', missing), target('ncloud-cdss', id)]);
  expect(summary.failed).toEqual([
    {
      target: target('ncloud-cdss', missing),
      code: 'ClusterNotFound',
      message: 'Naver Cloud answered HTTP 404: Not Found: no such cluster',
    },
  ]);
  expect(summary.succeeded.map((r) => r.clusterId)).toEqual([id]);
  expect(suite.harness('ncloud-cdss').calls(missing, 'reset')).toEqual([]);
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
  const withPassword = suite.cluster('ncloud-cdss');
  targets.push(target('ncloud-cdss', withPassword.id, { password: 'Plain-text1!' }));
  expectedFailures.push({ clusterId: withPassword.id, code: 'ValidationFailed' });
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
  const summary = await run(targets);
  report(
    `fleet state machine: ${targets.length} targets, ${summary.succeeded.length} succeeded, ${summary.failed.length} failed, ${Date.now() - started} ms`,
  );
  expect(summary.succeeded.map((r) => r.clusterId).sort()).toEqual(ok.map((c) => c.id).sort());
  expect(summary.failed.map((f) => ({ clusterId: f.target.clusterId, code: f.code }))).toEqual(
    expectedFailures,
  );
  for (const { provider, id } of ok) {
    const stored = suite.sandbox.aws.secretValue(suite.secretName(provider, id))?.password as string;
    suite.secretsUsed.add(stored);
    expect(suite.harness(provider).clusterPassword(id)).toBe(stored);
  }
  // The summary holds results and targets, never a generated password.
  const text = JSON.stringify(summary);
  expect(
    ok.some(({ provider, id }) => text.includes(suite.harness(provider).clusterPassword(id) as string)),
  ).toBe(false);
});

it('summarizes a fleet where everything fails, and an empty fleet', async () => {
  const missing = suite.harness('otc-css').newClusterId();
  const allFailed = await run([target('otc-css', missing)]);
  expect(allFailed.succeeded).toEqual([]);
  expect(allFailed.failed.map((f) => f.code)).toEqual(['ClusterNotFound']);
  expect(await run([])).toEqual({ succeeded: [], failed: [] });
});
