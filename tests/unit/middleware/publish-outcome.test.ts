import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import type { InvocationMode, ResetMiddleware } from '../../../lib/middleware/invocation.ts';
import { normalizeResponse } from '../../../lib/middleware/normalize-response.ts';
import { publishOutcome } from '../../../lib/middleware/publish-outcome.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import type { ProviderClient, ProviderDefinition } from '../../../lib/providers/types.ts';
import type { SuccessResult } from '../../../lib/result.ts';
import { rotationRecords } from '../../../lib/rotation/context.ts';
import { RequestFingerprints } from '../../../lib/rotation/fingerprint.ts';
import { rotatePassword } from '../../../lib/rotation/rotate.ts';
import { defaultSecretName, SecretStore } from '../../../lib/rotation/secret-store.ts';
import { given, runChain } from '../../support/chain.ts';
import { lambdaContext } from '../../support/events.ts';
import { trackSecret } from '../../support/leak-scan.ts';

const eventBridge = mockClient(EventBridgeClient);
const ddb = mockClient(DynamoDBClient);
const sm = mockClient(SecretsManagerClient);

const BUS = 'cluster-password-reset-test-bus';
const OPTIONS = { provider: 'ncloud-cdss', operation: 'reset-cmak-password' } as const;
const NOW = new Date('2026-11-23T10:00:00.000Z');
const SUPPLIED_PASSWORD = 'Supplied-Admin-pw-7!';
trackSecret(SUPPLIED_PASSWORD);

const ENVELOPE: Envelope = {
  region: 'KR',
  clusterId: '1009123',
  account: 'default',
  password: SUPPLIED_PASSWORD,
  storePassword: true,
  dryRun: false,
  idempotencyKey: 'key-1',
};

const SUCCESS: SuccessResult = {
  ok: true,
  provider: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  region: 'KR',
  clusterId: '1009123',
  dryRun: false,
  password: {
    source: 'supplied',
    stored: true,
    secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cpr/ncloud-cdss/KR/1009123',
    versionId: '0b8c1a2e-1111-2222-3333-444455556666',
  },
  providerRequestId: 'ncp-req-1',
  clusterState: 'ready',
  requestId: 'lambda-req-1',
  idempotencyKey: 'key-1',
  completedAt: '2026-11-23T10:00:00.000Z',
};

/** The chain as lib/handler.ts orders it: publishOutcome's after/onError run once the result is built. */
const chainFor = (mode: InvocationMode, envelope: Envelope | null = ENVELOPE) => [
  publishOutcome({
    client: new EventBridgeClient({ region: 'eu-central-1' }),
    eventBusName: BUS,
    stage: 'test',
  }),
  normalizeResponse(OPTIONS),
  given(envelope ? { mode, envelope } : { mode }),
];

const succeed = (mode: InvocationMode, result: unknown, envelope?: Envelope) =>
  runChain(chainFor(mode, envelope), {}, async () => result);

/** `envelope` null: the request failed before validation gave it one. */
const fail = (mode: InvocationMode, error: unknown, envelope?: Envelope | null) => {
  const context = lambdaContext();
  return runChain(
    chainFor(mode, envelope),
    {},
    async () => {
      throw error;
    },
    context,
  ).then((run) => ({ ...run, requestId: context.awsRequestId }));
};

const putInputs = () => eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input);

beforeEach(() => {
  eventBridge.reset();
  ddb.reset();
  sm.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  // Only Date: middy's and the SDK's timers stay real.
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('publish-outcome', () => {
  it('puts "Cluster Password Reset Succeeded" with the result and the stage as detail after a success', async () => {
    const run = await succeed('direct', SUCCESS);
    expect(run.error).toBeUndefined();
    expect(run.response).toBe(SUCCESS);
    expect(putInputs()).toEqual([
      {
        Entries: [
          {
            Source: 'cluster-password-reset',
            DetailType: 'Cluster Password Reset Succeeded',
            Detail: JSON.stringify({ ...SUCCESS, stage: 'test' }),
            EventBusName: BUS,
          },
        ],
      },
    ]);
  });

  it('adds who asked, and whether AWS vouches for it, to the detail, and to nothing else', async () => {
    const caller = 'arn:aws:iam::123456789012:user/operator';
    const asked: ResetMiddleware = {
      before: (request) => {
        request.internal.caller = caller;
        request.internal.callerVerified = true;
      },
    };
    const ok = await runChain([...chainFor('http'), asked], {}, async () => SUCCESS);
    const failed = await runChain([...chainFor('direct'), asked], {}, async () => {
      throw new ResetError('PROVIDER_UNAVAILABLE', 'Naver Cloud could not be reached');
    });
    const [success, failure] = putInputs().map((input) => JSON.parse(input.Entries?.[0]?.Detail ?? '{}'));
    expect(success).toStrictEqual({ ...SUCCESS, stage: 'test', caller, callerVerified: true });
    expect(failure).toMatchObject({
      ok: false,
      stage: 'test',
      caller,
      callerVerified: true,
      error: { code: 'PROVIDER_UNAVAILABLE' },
    });
    // The answers are the normalized result alone.
    expect(JSON.parse((ok.response as { body: string }).body)).toStrictEqual(SUCCESS);
    expect(failed.error?.message).toBe('Naver Cloud could not be reached');
  });

  it('publishes the result, not the HTTP answer, after a success over HTTP', async () => {
    const run = await succeed('http', SUCCESS);
    expect((run.response as { body: string }).body).toBe(JSON.stringify(SUCCESS));
    expect(putInputs().map((input) => input.Entries?.[0]?.Detail)).toEqual([
      JSON.stringify({ ...SUCCESS, stage: 'test' }),
    ]);
  });

  it('puts "Cluster Password Reset Failed" with the normalized failure as detail', async () => {
    const run = await fail(
      'http',
      new ResetError('PROVIDER_THROTTLED', 'Naver Cloud answered HTTP 429', {
        providerStatus: 429,
        providerCode: 'E429',
        retryAfterSeconds: 30,
      }),
    );
    const expected = {
      ok: false,
      provider: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      dryRun: false,
      requestId: run.requestId,
      completedAt: '2026-11-23T10:00:00.000Z',
      error: {
        code: 'PROVIDER_THROTTLED',
        message: 'Naver Cloud answered HTTP 429',
        retryable: true,
        providerStatus: 429,
        providerCode: 'E429',
      },
      region: 'KR',
      clusterId: '1009123',
      idempotencyKey: 'key-1',
    };
    const { statusCode, body } = run.response as { statusCode: number; body: string };
    expect(statusCode).toBe(429);
    expect(putInputs()).toEqual([
      {
        Entries: [
          {
            Source: 'cluster-password-reset',
            DetailType: 'Cluster Password Reset Failed',
            Detail: JSON.stringify({ ...JSON.parse(body), stage: 'test' }),
            EventBusName: BUS,
          },
        ],
      },
    ]);
    expect(JSON.parse(body)).toStrictEqual(expected);
  });

  it('publishes a failure outside HTTP too, and still throws the named error', async () => {
    const run = await fail(
      'direct',
      new ResetError('PROVIDER_UNAVAILABLE', 'Naver Cloud could not be reached'),
    );
    expect(run.error?.name).toBe('ProviderUnavailable');
    const [input] = putInputs();
    expect(input?.Entries?.[0]?.DetailType).toBe('Cluster Password Reset Failed');
    expect(JSON.parse(input?.Entries?.[0]?.Detail ?? '{}').error).toStrictEqual({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'Naver Cloud could not be reached',
      retryable: true,
    });
  });

  it('never puts the supplied password on the bus', async () => {
    await succeed('direct', SUCCESS);
    await fail('direct', new ResetError('PROVIDER_REJECTED', 'refused'));
    const details = putInputs().map((input) => input.Entries?.[0]?.Detail ?? '');
    expect(details).toHaveLength(2);
    for (const detail of details) expect(detail).not.toContain(SUPPLIED_PASSWORD);
    expect(JSON.parse(details[0] ?? '{}').password).toStrictEqual(SUCCESS.password);
  });

  it('publishes nothing for a dry run, succeeded or failed', async () => {
    const dry = { ...ENVELOPE, dryRun: true };
    const ok = await succeed('direct', { ...SUCCESS, dryRun: true }, dry);
    expect(ok.response).toEqual({ ...SUCCESS, dryRun: true });
    const failed = await fail('direct', new ResetError('CLUSTER_NOT_FOUND', 'no such cluster'), dry);
    expect(failed.error?.name).toBe('ClusterNotFound');
    expect(putInputs()).toEqual([]);
  });

  it('publishes nothing for ROTATION_IN_PROGRESS: another attempt holds the cluster', async () => {
    const run = await fail(
      'http',
      new ResetError('ROTATION_IN_PROGRESS', 'another rotation holds the lease'),
    );
    expect((run.response as { statusCode: number }).statusCode).toBe(409);
    expect(putInputs()).toEqual([]);
  });

  it('publishes nothing for a request refused before it named a cluster', async () => {
    const run = await fail('http', new ResetError('VALIDATION_FAILED', 'Invalid request'), null);
    expect((run.response as { statusCode: number }).statusCode).toBe(400);
    expect(putInputs()).toEqual([]);
  });

  it('publishes a Secrets Manager rotation refused before its secret named a cluster, with the secret it named', async () => {
    const secretId = 'cluster-password-reset/test/ncloud-cdss/KR/1009123';
    const named: ResetMiddleware = {
      before: (request) => {
        request.internal.rotation = { step: 'createSecret', secretId, token: 't'.repeat(32) };
        request.internal.caller = 'rotation event';
        request.internal.callerVerified = false;
      },
    };
    const refusal = new ResetError('VALIDATION_FAILED', 'Invalid request: SecretId has rotation turned off', {
      fields: [{ field: 'SecretId', rule: 'has rotation turned off' }],
    });
    const run = await runChain([...chainFor('rotation', null), named], {}, async () => {
      throw refusal;
    });
    // Thrown still: Secrets Manager retries, and marks the rotation failed.
    expect(run.error?.name).toBe('ValidationFailed');
    const [input] = putInputs();
    expect(input?.Entries?.[0]?.DetailType).toBe('Cluster Password Reset Failed');
    const detail = JSON.parse(input?.Entries?.[0]?.Detail ?? '{}');
    expect(detail).toMatchObject({
      ok: false,
      stage: 'test',
      secretId,
      caller: 'rotation event',
      callerVerified: false,
      error: { code: 'VALIDATION_FAILED', fields: [{ field: 'SecretId', rule: 'has rotation turned off' }] },
    });
    expect(detail).not.toHaveProperty('clusterId');
    // The same refusal of a request in any other mode is the caller's to see: no event.
    await runChain([...chainFor('direct', null), named], {}, async () => {
      throw refusal;
    });
    expect(putInputs()).toHaveLength(1);
  });

  it('publishes nothing for a failure answered again from a key record (replayed)', async () => {
    const replayed = await fail('direct', new ResetError('PROVIDER_REJECTED', 'refused', { replayed: true }));
    expect(replayed.error?.name).toBe('ProviderRejected');
    expect(putInputs()).toEqual([]);
    // The same failure, not replayed, is news: the replay flag alone kept it off the bus.
    await fail('direct', new ResetError('PROVIDER_REJECTED', 'refused'));
    expect(putInputs()).toHaveLength(1);
  });

  it('changes nothing in the answer when PutEvents fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('EventBridge is down'));
    const ok = await succeed('direct', SUCCESS);
    expect(ok.error).toBeUndefined();
    expect(ok.response).toBe(SUCCESS);
    const failed = await fail('direct', new ResetError('PROVIDER_THROTTLED', 'slow down'));
    expect(failed.response).toBeUndefined();
    expect(failed.error?.name).toBe('ProviderThrottled');
    expect(failed.error?.message).toBe('slow down');
    expect(putInputs()).toHaveLength(2);
  });

  it('changes nothing in the answer when EventBridge does not accept the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const ok = await succeed('http', SUCCESS);
    expect(ok.response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify(SUCCESS),
    });
    const failed = await fail('http', new ResetError('CLUSTER_STATE_CONFLICT', 'cluster is busy'));
    const { statusCode, body } = failed.response as { statusCode: number; body: string };
    expect(statusCode).toBe(409);
    expect(JSON.parse(body).error).toStrictEqual({
      code: 'CLUSTER_STATE_CONFLICT',
      message: 'cluster is busy',
      retryable: true,
    });
    expect(putInputs()).toHaveLength(2);
  });
});

describe('publish-outcome with a replay from rotatePassword', () => {
  const config = readConfig({ STAGE: 'test' });
  const replayEnvelope = {
    provider: 'ncloud-cdss' as const,
    region: 'KR',
    clusterId: '1009123',
    account: 'default',
    storePassword: true,
    dryRun: false,
    idempotencyKey: 'key-1',
  };
  const notCalled = (): never => {
    throw new Error('a replay must not reach the provider');
  };
  const untouchable: ProviderClient = {
    assertReady: notCalled,
    prepareReset: notCalled,
    reset: notCalled,
    awaitSettled: notCalled,
  };
  const provider: ProviderDefinition<unknown> = {
    ...(ncloudCdss as ProviderDefinition<unknown>),
    createClient: () => untouchable,
  };

  /** The key's record in the lease table: as a finished first attempt left it. */
  const keyRecord = async (state: 'completed' | 'failed', outcome: unknown) => {
    const fingerprint = await new RequestFingerprints(new SecretsManagerClient({}), 'fp-key').of({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      secretName: defaultSecretName(config.secretPrefix, {
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1009123',
      }),
      storePassword: true,
    });
    ddb.on(GetItemCommand, { Key: { pk: { S: 'key#ncloud-cdss#key-1' } } }).resolves({
      Item: {
        pk: { S: 'key#ncloud-cdss#key-1' },
        fingerprint: { S: fingerprint },
        state: { S: state },
        outcome: { S: JSON.stringify(outcome) },
        expiresAt: { N: String(Math.floor(NOW.getTime() / 1000) + 3600) },
      },
    });
  };

  const rotateAgain = () =>
    rotatePassword(
      {
        secrets: new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' })),
        records: rotationRecords(new DynamoDBClient({ region: 'eu-central-1' }), 'leases', 120),
        fingerprints: new RequestFingerprints(new SecretsManagerClient({ region: 'eu-central-1' }), 'fp-key'),
        config,
      },
      {
        provider,
        envelope: replayEnvelope,
        credentials: { accessKey: 'AK', secretKey: 'SK' },
        requestId: 'lambda-req-2',
        deadline: NOW.getTime() + 10_000,
        invocationDeadline: NOW.getTime() + 12_000,
      },
    );

  it('publishes nothing for a success answered again from the key record', async () => {
    await keyRecord('completed', SUCCESS);
    const run = await runChain(chainFor('direct', replayEnvelope), {}, rotateAgain);
    expect(run.error).toBeUndefined();
    expect(run.response).toEqual(SUCCESS);
    expect(putInputs()).toEqual([]);
    // The same result, not a replay, is published: being a replay is what kept it off the bus.
    await succeed('direct', { ...(run.response as SuccessResult) }, replayEnvelope);
    expect(putInputs()).toHaveLength(1);
  });

  it('publishes nothing for a failure answered again from the key record', async () => {
    await keyRecord('failed', {
      code: 'PROVIDER_REJECTED',
      message: 'refused the first time',
      retryable: false,
    });
    const run = await runChain(chainFor('direct', replayEnvelope), {}, rotateAgain);
    expect(run.error?.name).toBe('ProviderRejected');
    expect(run.error?.message).toBe('refused the first time');
    expect(putInputs()).toEqual([]);
  });
});
