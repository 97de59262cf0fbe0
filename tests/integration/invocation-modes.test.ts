import { describe, expect, it } from 'vitest';
import { eventBridgeEvent, lambdaContext } from '../support/events.ts';
import { STAGE } from './harness.ts';
import { invokeInMode, leakedLines, type Mode, report, useSuite } from './suite.ts';

// The same handlers reached the three ways the README names: API Gateway, an EventBridge rule and
// a Step Functions Task (a direct invocation with the envelope as payload). They answer the same
// normalized result, and publish the outcome on the bus after every real attempt.

const suite = useSuite();

/** Invokes in a mode; answers the normalized result, or the thrown error's name and message. */
const invoke = (providerId: string, mode: Mode, clusterId: string, fields: Record<string, unknown> = {}) => {
  const harness = suite.harness(providerId);
  return invokeInMode(suite.handler(providerId), mode, {
    envelope: { provider: providerId, region: harness.region, clusterId, ...fields },
    httpEvent: (body, headers) => harness.httpEvent(clusterId, body, headers),
  });
};

/** What may differ between two answers to the same request: ids, keys and times. */
const comparable = (result: Record<string, any>) => {
  const { requestId: _, completedAt: __, idempotencyKey: ___, providerRequestId: ____, ...rest } = result;
  if (rest.password) rest.password = { ...rest.password, versionId: 'v' };
  return rest;
};

const outcomes = (clusterId: string) =>
  suite.sandbox.aws.events
    .map((event) => ({ type: event.DetailType, detail: JSON.parse(event.Detail ?? '{}') }))
    .filter((event) => event.detail.clusterId === clusterId);

const PROVIDER_IDS = [['ncloud-cdss'], ['otc-css'], ['huaweicloud-css']];

/** The fleet state machine's caller: its execution ARN. */
const EXECUTION =
  'arn:aws:states:eu-central-1:123456789012:execution:cluster-password-reset-itest-fleet-rotation:run-1';

/** The handlers' log lines (Powertools JSON, not the metrics' EMF) written since `from`. */
const logLinesSince = (from: number) =>
  suite.output
    .slice(from)
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line));

describe.each(PROVIDER_IDS)('%s by HTTP, EventBridge and Step Functions', (providerId) => {
  it('answers the same normalized result in every mode, and stored == provider after each', async () => {
    const { id } = suite.cluster(providerId);
    const answers = [];
    for (const mode of ['http', 'eventbridge', 'direct'] as const) {
      const result = await invoke(providerId, mode, id);
      expect(result.ok, mode).toBe(true);
      const stored = suite.sandbox.aws.secretValue(suite.secretName(providerId, id))?.password as string;
      suite.secretsUsed.add(stored);
      expect(suite.harness(providerId).clusterPassword(id), mode).toBe(stored);
      answers.push(comparable(result));
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('uses the EventBridge event id as the idempotency key', async () => {
    const { id } = suite.cluster(providerId);
    const event = eventBridgeEvent({
      provider: providerId,
      region: suite.harness(providerId).region,
      clusterId: id,
    });
    const first = await suite.handler(providerId)(event, lambdaContext());
    // EventBridge delivers an event at least once: a redelivery answers the same and resets nothing.
    const again = await suite.handler(providerId)(event, lambdaContext());
    expect(again).toEqual(first);
    expect((first as { idempotencyKey: string }).idempotencyKey).toBe(event.id);
    expect(suite.harness(providerId).calls(id, 'reset')).toHaveLength(1);
  });

  it('fails the same way in every mode: an HTTP status, or an error named for Step Functions', async () => {
    const missing = suite.harness(providerId).newClusterId();
    const http = await invoke(providerId, 'http', missing);
    expect(http.error).toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    for (const mode of ['eventbridge', 'direct'] as const) {
      expect(await invoke(providerId, mode, missing), mode).toEqual({
        thrown: 'ClusterNotFound',
        message: http.error.message,
      });
    }
  });

  it.each(['eventbridge', 'direct'] as const)(
    'refuses a password in a %s input and sends nothing',
    async (mode) => {
      const { id, initialPassword } = suite.cluster(providerId);
      const answer = await invoke(providerId, mode, id, {
        password: suite.harness(providerId).validPassword,
      });
      const rule = 'password must not be sent in an EventBridge event or a Step Functions input';
      // Answered, not thrown, in both modes: Lambda would retry a thrown asynchronous invocation,
      // then keep it, password and all, in the dead-letter queue (the request rules drop such
      // events before; this is the backstop).
      expect(answer).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(answer.error.message).toContain(rule);
      expect(suite.harness(providerId).calls(id)).toEqual([]);
      expect(suite.harness(providerId).clusterPassword(id)).toBe(initialPassword);
    },
  );

  it('publishes Succeeded with the normalized result, Failed on failure, nothing for a dry run', async () => {
    const { id } = suite.cluster(providerId);
    const result = await invoke(providerId, 'direct', id, { idempotencyKey: `events-${id}` });
    expect(outcomes(id)).toEqual([
      {
        type: 'Cluster Password Reset Succeeded',
        detail: { ...result, stage: STAGE, caller: 'direct invocation', callerVerified: false },
      },
    ]);

    await invoke(providerId, 'direct', id, { dryRun: true });
    expect(outcomes(id)).toHaveLength(1);

    suite.harness(providerId).addFault({ operation: 'reset', clusterId: id, status: 500, text: 'down' });
    await invoke(providerId, 'direct', id);
    const failed = outcomes(id)[1];
    expect(failed?.type).toBe('Cluster Password Reset Failed');
    expect(failed?.detail).toMatchObject({
      ok: false,
      clusterId: id,
      error: { code: 'PROVIDER_UNAVAILABLE' },
    });
    expect(JSON.stringify(outcomes(id))).not.toContain(suite.harness(providerId).clusterPassword(id));
  });

  it('answers a direct payload shaped like a normalized event as a direct call: ValidationFailed, nothing sent', async () => {
    const { id } = suite.cluster(providerId);
    const harness = suite.harness(providerId);
    const input = {
      provider: providerId,
      region: harness.region,
      clusterId: id,
      password: harness.validPassword,
    };
    for (const payload of [
      { mode: 'http', input },
      { mode: 'http', envelope: input },
    ]) {
      const answer = await suite
        .handler(providerId)(payload, lambdaContext())
        .catch((error: Error) => error);
      expect(answer).toBeInstanceOf(Error);
      expect((answer as Error).name).toBe('ValidationFailed');
      expect((answer as Error).message).toContain('mode is not a field of this request');
    }
    expect(harness.calls(id)).toEqual([]);
  });

  it.each([
    ['http', {}, 'arn:aws:iam::123456789012:user/operator', true],
    ['eventbridge', {}, 'eventbridge:123456789012:cluster-password-reset', true],
    ['direct', { caller: EXECUTION }, EXECUTION, false],
    ['direct', {}, 'direct invocation', false],
  ] as const)(
    'names the caller of a %s invocation %j in every log line and in the outcome event, not in the answer',
    async (mode, fields, caller, callerVerified) => {
      const { id } = suite.cluster(providerId);
      const from = suite.output.length;
      const result = await invoke(providerId, mode, id, { idempotencyKey: `caller-${id}`, ...fields });
      expect(result.ok).toBe(true);
      expect(result).not.toHaveProperty('caller');
      expect(outcomes(id)).toEqual([
        {
          type: 'Cluster Password Reset Succeeded',
          detail: { ...result, stage: STAGE, caller, callerVerified },
        },
      ]);
      const lines = logLinesSince(from);
      expect(lines.map((line) => line.message)).toContain('password reset finished');
      for (const line of lines)
        expect([line.caller, line.callerVerified], line.message).toEqual([caller, callerVerified]);
      // The failure of a later attempt carries it too.
      suite.harness(providerId).addFault({ operation: 'reset', clusterId: id, status: 500, text: 'down' });
      const again = suite.output.length;
      await invoke(providerId, mode, id, { idempotencyKey: `caller-fail-${id}`, ...fields });
      expect(outcomes(id)[1]).toMatchObject({ type: 'Cluster Password Reset Failed', detail: { caller } });
      const failed = logLinesSince(again).find((line) => line.message === 'password reset failed');
      expect(failed).toMatchObject({ caller, code: 'PROVIDER_UNAVAILABLE' });
    },
  );

  it('accepts `caller` only in a direct payload: refused in an HTTP body and an EventBridge detail, nothing sent', async () => {
    const { id } = suite.cluster(providerId);
    const http = await invoke(providerId, 'http', id, { caller: EXECUTION });
    expect(http.error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'caller' }] });
    const eventbridge = await invoke(providerId, 'eventbridge', id, { caller: EXECUTION });
    // Answered, not thrown: a retry of the same event would be refused the same way.
    expect(eventbridge).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: 'Invalid request: caller is not a field of this request' },
    });
    const forged = await invoke(providerId, 'direct', id, {
      caller: 'arn:aws:iam::1:user/x\n{"level":"INFO"}',
    });
    expect(forged.thrown).toBe('ValidationFailed');
    expect(suite.output.join('')).not.toContain('user/x');
    expect(suite.harness(providerId).calls(id)).toEqual([]);
  });

  it('publishes nothing for a request refused before validation', async () => {
    const before = suite.sandbox.aws.events.length;
    await invoke(providerId, 'direct', 'not a cluster id');
    expect(suite.sandbox.aws.events.length).toBe(before);
  });

  it('keeps a successful reset successful when the outcome cannot be published', async () => {
    const { id } = suite.cluster(providerId);
    suite.sandbox.aws.faults.add({
      operation: 'AWSEvents.PutEvents',
      times: 5,
      status: 500,
      body: { __type: 'InternalException', message: 'down' },
    });
    const result = await invoke(providerId, 'direct', id);
    expect(result.ok).toBe(true);
    expect(outcomes(id)).toEqual([]);
  });
});

it('leaks no secret in any log line of the three modes', () => {
  const { lines, leaks } = leakedLines(suite);
  expect(leaks).toEqual([]);
  report(
    `leak scan (invocation modes): ${lines.length} log lines, ${suite.secretsUsed.size} secrets, ${leaks.length} leaks`,
  );
});
