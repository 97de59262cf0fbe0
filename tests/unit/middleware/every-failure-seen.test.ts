import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import { resetMiddleware, resetOperation } from '../../../lib/handler.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import { eventBridgeEvent, lambdaContext } from '../../support/events.ts';
import { trackSecret } from '../../support/leak-scan.ts';

// DESIGN rule 11, through the handler as functions/ composes it: every failed invocation is
// counted (RotationFailed, with its provider, error code and invocation mode), also one refused
// before its request was understood; a failed Secrets Manager rotation is an outcome event too.
// And the failures that a retry cannot mend, or whose payload holds a password, are answered
// rather than thrown (no Lambda retry, no on-failure copy).

const eventBridge = mockClient(EventBridgeClient);
// The lease table: the cluster of NAME is bound to it, unless a test says otherwise.
const dynamo = mockClient(DynamoDBClient);
const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const config = readConfig({ STAGE: 'test' });

const NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1009123';
const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';
const OWN_TAGS = [
  { Key: 'managed-by', Value: 'cluster-password-reset' },
  { Key: 'provider', Value: 'ncloud-cdss' },
  { Key: 'region', Value: 'KR' },
  { Key: 'cluster-id', Value: '1009123' },
];
const PASSWORD = 'Direct-Payload-pw-3!';
trackSecret(PASSWORD);

interface Emf {
  RotationFailed?: number;
  RotationSucceeded?: number;
  errorCode?: string;
  invocation?: string;
  provider?: string;
  stage?: string;
}

beforeEach(() => {
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  dynamo.on(GetItemCommand).resolves({ Item: { secretName: { S: NAME }, account: { S: 'default' } } });
});
afterEach(() => {
  for (const mock of [eventBridge, sm, ssm, dynamo]) mock.reset();
  vi.restoreAllMocks();
});

/** Runs the composed handler; answers what it answered or threw, and its EMF documents. */
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
  const [response, error] = await handler(event, lambdaContext()).then(
    (value: unknown) => [value, undefined] as const,
    (thrown: Error) => [undefined, thrown] as const,
  );
  vi.restoreAllMocks();
  const emf = written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
  return { response, error, emf, output: written.join('') };
};

/** The three documents of one failure: by provider, by error code, by invocation mode. */
const failureDocuments = (errorCode: string, invocation: string) => [
  { RotationFailed: 1, stage: 'test', provider: 'ncloud-cdss' },
  { RotationFailed: 1, stage: 'test', provider: 'ncloud-cdss', errorCode },
  { RotationFailed: 1, stage: 'test', provider: 'ncloud-cdss', invocation },
];

const outcomeDetails = () =>
  eventBridge.commandCalls(PutEventsCommand).map((call) => ({
    detailType: call.args[0].input.Entries?.[0]?.DetailType,
    detail: JSON.parse(call.args[0].input.Entries?.[0]?.Detail ?? '{}'),
  }));

const rotationEvent = { Step: 'createSecret', SecretId: NAME, ClientRequestToken: TOKEN };
const secretWith = (tags: typeof OWN_TAGS, rotationEnabled = true) =>
  sm.on(DescribeSecretCommand).resolves({
    Name: NAME,
    ARN: `arn:aws:secretsmanager:eu-central-1:1:secret:${NAME}`,
    RotationEnabled: rotationEnabled,
    Tags: tags,
  });

describe('a Secrets Manager rotation refused before its secret named a cluster', () => {
  it.each([
    [
      'the secret does not exist',
      () =>
        sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} })),
    ],
    [
      'no rotation has bound it to its cluster',
      () => {
        secretWith(OWN_TAGS);
        dynamo.on(GetItemCommand).resolves({});
      },
    ],
    [
      'it is named as another provider’s',
      () =>
        sm.on(DescribeSecretCommand).resolves({
          Name: 'cluster-password-reset/test/otc-css/eu-de/x',
          ARN: 'arn:aws:secretsmanager:eu-central-1:1:secret:x',
          RotationEnabled: true,
          Tags: OWN_TAGS,
        }),
    ],
    ['its rotation is turned off', () => secretWith(OWN_TAGS, false)],
  ])('is counted, alarmed on and published when %s', async (_name, setup) => {
    setup();
    const { error, emf } = await invoke(rotationEvent);
    // Thrown: Secrets Manager marks the rotation failed and retries it.
    expect(error?.name).toBe('ValidationFailed');
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'rotation'));
    expect(outcomeDetails()).toEqual([
      {
        detailType: 'Cluster Password Reset Failed',
        detail: expect.objectContaining({
          ok: false,
          stage: 'test',
          secretId: NAME,
          caller: 'rotation event',
          callerVerified: false,
          error: expect.objectContaining({
            code: 'VALIDATION_FAILED',
            fields: [expect.objectContaining({ field: 'SecretId' })],
          }),
        }),
      },
    ]);
    // Nothing was read from SSM.
    expect(ssm.calls()).toEqual([]);
  });

  it('is counted when the rotation event itself is malformed', async () => {
    const { error, emf } = await invoke({ ...rotationEvent, ClientRequestToken: 'short' });
    expect(error?.name).toBe('ValidationFailed');
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'rotation'));
    expect(sm.calls()).toEqual([]);
  });
});

describe('a request never understood', () => {
  it('is counted: a direct payload that is not an object', async () => {
    const { error, emf } = await invoke('rotate everything');
    expect(error?.name).toBe('ValidationFailed');
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'direct'));
  });

  it('is counted and answered: an EventBridge event of another detail-type', async () => {
    const { error, response, emf } = await invoke(
      eventBridgeEvent(
        { provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' },
        'Cluster Password Reset Wanted',
      ),
    );
    expect(error).toBeUndefined();
    expect(response).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', fields: [{ field: 'detail-type' }] },
    });
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'eventbridge'));
  });
});

describe('failures answered rather than thrown', () => {
  it('answers an EventBridge request with a misspelt field: a retry would fail the same way', async () => {
    const { error, response, emf } = await invoke(
      eventBridgeEvent({ provider: 'ncloud-cdss', region: 'KR', clusterID: '1009123' }),
    );
    expect(error).toBeUndefined();
    expect(response).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', retryable: false },
    });
    expect(
      (response as { error: { fields: Array<{ field: string }> } }).error.fields.map((f) => f.field),
    ).toContain('clusterID');
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'eventbridge'));
    // Its sender never sees the answer: the refusal is published, as the request's outcome.
    expect(outcomeDetails()).toEqual([
      {
        detailType: 'Cluster Password Reset Failed',
        detail: expect.objectContaining({
          ok: false,
          stage: 'test',
          caller: 'eventbridge:123456789012:cluster-password-reset',
          callerVerified: true,
          error: expect.objectContaining({ code: 'VALIDATION_FAILED' }),
        }),
      },
    ]);
  });

  it('answers a direct payload carrying a password, as Step Functions or an asynchronous invoke would send it', async () => {
    const { error, response, emf, output } = await invoke({
      region: 'KR',
      clusterId: '1009123',
      password: PASSWORD,
      caller: 'arn:aws:states:eu-central-1:123456789012:execution:m:run-1',
    });
    expect(error).toBeUndefined();
    expect(response).toMatchObject({
      ok: false,
      provider: 'ncloud-cdss',
      error: { code: 'VALIDATION_FAILED', fields: [{ field: 'password' }] },
    });
    expect(JSON.stringify(response)).not.toContain(PASSWORD);
    expect(output).not.toContain(PASSWORD);
    expect(emf).toMatchObject(failureDocuments('VALIDATION_FAILED', 'direct'));
    // Refused before anything was read or written.
    expect(ssm.calls()).toEqual([]);
    expect(sm.calls()).toEqual([]);
  });
});
