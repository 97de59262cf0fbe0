import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { resetMiddleware, resetOperation } from '../../lib/handler.ts';
import { logger } from '../../lib/logger.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';
import { lambdaContext, ncloudHttpEvent } from '../support/events.ts';

const config = readConfig({ STAGE: 'test' });

describe('the reset handler composition', () => {
  it('runs only on a request the middleware chain validated: a raw payload is refused before any call', async () => {
    const operation = resetOperation(ncloudCdss, config);
    for (const raw of [
      { provider: 'ncloud-cdss', region: 'KR', clusterId: '1' },
      { mode: 'direct', envelope: { region: 'KR', clusterId: '1' }, credentials: {} },
    ]) {
      await expect(operation(raw, lambdaContext())).rejects.toMatchObject({
        code: 'INTERNAL',
        message: 'The request was not validated',
      });
    }
  });

  it('answers a payload that claims to be an HTTP event as the direct call it is', async () => {
    const handler = middy()
      .use(resetMiddleware(ncloudCdss, config))
      .handler(resetOperation(ncloudCdss, config));
    const answer = await handler(
      { mode: 'http', input: { region: 'KR', clusterId: '1' } },
      lambdaContext(),
    ).then(
      (value: unknown) => value,
      (error: Error) => error,
    );
    // Thrown, named for Step Functions: not an API Gateway response the caller chose.
    expect(answer).toBeInstanceOf(Error);
    expect((answer as Error).name).toBe('ValidationFailed');
    expect((answer as Error).message).toBe(
      'Invalid request: region is required; clusterId is required; mode is not a field of this request; input is not a field of this request',
    );
  });
});

describe('the start of a function', () => {
  it('does not build the chain when a provider endpoint is not https', () => {
    const bad = readConfig({ STAGE: 'test', NCLOUD_CDSS_ENDPOINT: 'http://ncloud-proxy.internal:8080' });
    expect(() => resetMiddleware(ncloudCdss, bad)).toThrow(
      'NCLOUD_CDSS_ENDPOINT must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not http://ncloud-proxy.internal:8080',
    );
  });

  const FUNCTIONS = [
    ['NCLOUD_CDSS_ENDPOINT', () => import('../../functions/ncloud-cdss-reset-cmak-password.ts')],
    ['OTC_CSS_ENDPOINT', () => import('../../functions/otc-css-reset-admin-password.ts')],
    ['HUAWEICLOUD_CSS_ENDPOINT', () => import('../../functions/huaweicloud-css-reset-admin-password.ts')],
  ] as const;

  it.each(FUNCTIONS)(
    'stops the function of %s at start for an http endpoint off the machine',
    async (variable, load) => {
      vi.resetModules();
      vi.stubEnv(variable, 'http://css.{region}.example.com');
      try {
        await expect(load()).rejects.toThrow(`${variable} must be an https:// URL`);
        // The same function starts with the sandbox's loopback endpoint.
        vi.resetModules();
        vi.stubEnv(variable, 'http://127.0.0.1:4566/{region}');
        expect(typeof (await load()).handler).toBe('function');
      } finally {
        vi.unstubAllEnvs();
        vi.resetModules();
      }
    },
  );
});

describe('the metrics of the composed handler', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const ssm = mockClient(SSMClient);
  // The lease table: no cluster of these tests is bound yet.
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.on(GetItemCommand).resolves({}));
  afterEach(() => {
    eventBridge.reset();
    ssm.reset();
    dynamo.reset();
    vi.restoreAllMocks();
  });

  /** Runs the handler as functions/ composes it; answers what it wrote to stdout and stderr. */
  const invoke = async (event: unknown) => {
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
        written.push(String(chunk));
        return true;
      });
    }
    const handler = middy()
      .use(resetMiddleware(ncloudCdss, config))
      .handler(resetOperation(ncloudCdss, config));
    const error = await handler(event, lambdaContext()).then(
      () => undefined,
      (thrown: Error) => thrown,
    );
    vi.restoreAllMocks();
    const emf = written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line));
    return { error, emf, written };
  };

  it('counts a failure after validation, thrown or not, with the outcome event', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm
      .on(GetParametersCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { error, emf } = await invoke({ region: 'KR', clusterId: '1009123' });
    expect(error?.name).toBe('CredentialsUnavailable');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(emf).toHaveLength(3);
    expect(emf[0]).toMatchObject({ provider: 'ncloud-cdss', stage: 'test', RotationFailed: 1 });
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('ClusterPasswordReset');
    expect(emf[1]).toMatchObject({
      provider: 'ncloud-cdss',
      errorCode: 'CREDENTIALS_UNAVAILABLE',
      RotationFailed: 1,
    });
  });

  it('counts a request refused by validation (every failure is seen), with no outcome event', async () => {
    const { error, emf, written } = await invoke({ region: 'KR' });
    expect(error?.name).toBe('ValidationFailed');
    expect(emf.map((doc) => [doc.RotationFailed, doc.errorCode, doc.invocation])).toEqual([
      [1, undefined, undefined],
      [1, 'VALIDATION_FAILED', undefined],
      [1, undefined, 'direct'],
    ]);
    expect(written.join('')).not.toContain('No application metrics');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  // The suite keeps Powertools silent (and each warm invocation puts the level back): these tests
  // read what the code hands the logger; the integration suites read the lines themselves.
  const logged = () => {
    const calls = { appendKeys: vi.spyOn(logger, 'appendKeys'), error: vi.spyOn(logger, 'error') };
    return {
      keys: () => calls.appendKeys.mock.calls.map(([keys]) => keys),
      errors: () => calls.error.mock.calls.map(([message, fields]) => ({ message, fields })),
    };
  };

  const EXECUTION =
    'arn:aws:states:eu-central-1:123456789012:execution:cluster-password-reset-test-fleet-rotation:run-1';

  const outcomeDetail = () =>
    JSON.parse(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}');

  it("logs the SSM parameter and the cause, tells the caller only that the account's credentials are unavailable", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm
      .on(GetParametersCommand)
      .rejects(Object.assign(new Error('User: x is not authorized'), { name: 'AccessDeniedException' }));
    const log = logged();
    const { error } = await invoke({
      region: 'KR',
      clusterId: '1009123',
      account: 'team-a',
      caller: EXECUTION,
    });
    expect(error?.name).toBe('CredentialsUnavailable');
    expect(error?.message).toBe('The credentials of account "team-a" are unavailable');
    expect(log.errors()).toEqual([
      {
        message: 'provider credentials could not be read',
        fields: {
          account: 'team-a',
          parameter: `${config.credentialsPrefix}/ncloud/team-a`,
          cause: 'AccessDeniedException',
        },
      },
    ]);
    expect(log.keys()).toContainEqual({ caller: EXECUTION, callerVerified: false });
    // The outcome event carries the answer's message: no parameter, no prefix, no SDK message.
    const detail = outcomeDetail();
    expect(detail).toMatchObject({
      caller: EXECUTION,
      error: {
        code: 'CREDENTIALS_UNAVAILABLE',
        message: 'The credentials of account "team-a" are unavailable',
      },
    });
    expect(JSON.stringify(detail)).not.toContain(config.credentialsPrefix);
    expect(JSON.stringify(detail)).not.toContain('not authorized');
  });

  it('gives the signed caller to the log keys and the outcome event, never to the answer', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    ssm
      .on(GetParametersCommand)
      .resolves({ Parameters: [], InvalidParameters: [`${config.credentialsPrefix}/ncloud/default`] });
    const log = logged();
    // The metrics' EMF lines: out of the test output.
    for (const stream of [process.stdout, process.stderr]) vi.spyOn(stream, 'write').mockReturnValue(true);
    const handler = middy()
      .use(resetMiddleware(ncloudCdss, config))
      .handler(resetOperation(ncloudCdss, config));
    const answer = (await handler(ncloudHttpEvent('KR', '1009123', {}), lambdaContext())) as { body: string };
    const operator = 'arn:aws:iam::123456789012:user/operator';
    expect(log.keys()).toContainEqual({ caller: operator, callerVerified: true });
    expect(log.errors()[0]?.fields).toMatchObject({ cause: 'ParameterNotFound' });
    expect(outcomeDetail().caller).toBe(operator);
    expect(JSON.parse(answer.body)).not.toHaveProperty('caller');
    expect(answer.body).not.toContain(config.credentialsPrefix);
  });

  it('refuses a direct caller that breaks its rule, without quoting it anywhere', async () => {
    const hostile = 'evil\n{"level":"INFO"} <script>';
    const log = logged();
    const { error } = await invoke({ region: 'KR', clusterId: '1009123', caller: hostile });
    expect(error?.name).toBe('ValidationFailed');
    expect(error?.message).toBe(
      'Invalid request: caller must be 1-512 letters, digits or any of : / _ . + = @ $ -',
    );
    expect(JSON.stringify(log.keys())).not.toContain('evil');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
