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

/** Every payload a Task state handed to a handler, in the order they were sent. */
let payloads: Array<{ state: string; payload: Record<string, unknown> }> = [];

const taskHandlers = () =>
  Object.fromEntries(
    Object.entries(PROVIDER_OF_TASK).map(([state, providerId]) => [
      state,
      lambdaInvokeTask((payload) => {
        payloads.push({ state, payload: payload as Record<string, unknown> });
        return suite.handler(providerId)(payload, lambdaContext());
      }),
    ]),
  );

const run = (targets: unknown[]) => {
  payloads = [];
  return runLocally(definition, { targets }, taskHandlers(), { retryIntervalMs: 5 }) as Promise<{
    succeeded: Array<Record<string, any>>;
    failed: Array<{ target: Record<string, unknown>; code: string; message: string }>;
  }>;
};

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
  // Shaped like an API Gateway event: rotated as a plain target, its body's password ignored.
  const httpLike = suite.cluster('ncloud-cdss');
  targets.push(target('ncloud-cdss', httpLike.id, httpShaped('Plain-text1!')));
  ok.push({ provider: 'ncloud-cdss', id: httpLike.id });
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

it('fails at once, PasswordNotAllowed, when any target carries a password, invoking no handler', async () => {
  const clean = suite.cluster('otc-css');
  const withPassword = suite.cluster('otc-css');
  const failure = await run([
    target('otc-css', clean.id),
    target('otc-css', withPassword.id, { password: 'Plain-text1!' }),
  ]).catch((error: Error) => error);
  expect(failure).toBeInstanceOf(Error);
  expect(((failure as Error).cause as Error).name).toBe('PasswordNotAllowed');
  expect(payloads).toEqual([]);
  expect(suite.harness('otc-css').calls(clean.id)).toEqual([]);
  expect(suite.harness('otc-css').calls(withPassword.id)).toEqual([]);
});

it("hands each handler the envelope's fields alone, with the execution as caller", async () => {
  const { id } = suite.cluster('otc-css');
  const extra = { account: 'default', storePassword: true, ...httpShaped('Plain-text1!') };
  const summary = await run([
    target('otc-css', id, extra),
    target('otc-css', id, { dryRun: true, idempotencyKey: 'k-1' }),
  ]);
  const sent = payloads.map((p) => p.payload);
  const caller = sent[0]?.caller as string;
  expect(caller).toMatch(/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/);
  const executionName = caller.split(':').at(-1);
  // Optional fields only when the target has them; nothing of the HTTP shape.
  expect(sent).toContainEqual({
    provider: 'otc-css',
    region: 'eu-de',
    clusterId: id,
    account: 'default',
    storePassword: true,
    idempotencyKey: `${executionName}-0`,
    caller,
  });
  expect(sent).toContainEqual({
    provider: 'otc-css',
    region: 'eu-de',
    clusterId: id,
    dryRun: true,
    idempotencyKey: 'k-1',
    caller,
  });
  expect(payloads.every((p) => p.state === 'RotateOtcCss')).toBe(true);
  // Handled as direct invocations: one real rotation and one dry run, no HTTP answer.
  expect(summary.failed).toEqual([]);
  expect(summary.succeeded.map((r) => r.dryRun).sort()).toEqual([false, true]);
  expect(summary.succeeded.every((r) => r.ok === true && !('statusCode' in r))).toBe(true);
  const stored = suite.sandbox.aws.secretValue(suite.secretName('otc-css', id))?.password as string;
  suite.secretsUsed.add(stored);
  expect(suite.harness('otc-css').clusterPassword(id)).toBe(stored);
  expect(stored).not.toBe('Plain-text1!');
});
