import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import { RequestFingerprints } from '../../../lib/rotation/fingerprint.ts';
import {
  isReplay,
  outcomeOfFailedReset,
  rotatePassword,
  versionIdFor,
} from '../../../lib/rotation/rotate.ts';
import { mockedRotationDeps, scriptedProvider } from '../../support/scripted-provider.ts';

const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const config = readConfig({ STAGE: 'test' });
const NAME = `${config.secretPrefix}/ncloud-cdss/KR/1009123`;
const PLACEHOLDER = versionIdFor(NAME, '(placeholder)');

/** Everything that happened, AWS calls and provider calls, in order. */
let log: string[];
let sentPasswords: string[];
let resetFails: ResetError | undefined;
let readyFails: ResetError | undefined;

const { client: fakeClient, provider } = scriptedProvider(() => ({
  log,
  sentPasswords,
  resetFails,
  readyFails,
}));
const originalReset = fakeClient.reset;
const deps = () => mockedRotationDeps(config);

const envelope = (change: Partial<Envelope> = {}) => ({
  provider: 'ncloud-cdss' as const,
  region: 'KR',
  clusterId: '1009123',
  account: 'default',
  storePassword: true,
  dryRun: false,
  idempotencyKey: 'key-1',
  ...change,
});

const rotate = (change: Partial<Envelope> = {}) =>
  rotatePassword(deps(), {
    provider,
    envelope: envelope(change) as Envelope & { idempotencyKey: string },
    credentials: { accessKey: 'AK', secretKey: 'SK' },
    requestId: 'lambda-req-1',
    deadline: Date.now() + 10_000,
    invocationDeadline: Date.now() + 12_000,
  });

const record = (name: string) => async () => {
  log.push(name);
  return {};
};

const OWN_TAGS = [
  { Key: 'managed-by', Value: 'cluster-password-reset' },
  { Key: 'provider', Value: 'ncloud-cdss' },
  { Key: 'region', Value: 'KR' },
  { Key: 'cluster-id', Value: '1009123' },
];

const existingSecret = (versions: Record<string, string[]>, tags = OWN_TAGS) =>
  sm.on(DescribeSecretCommand).resolves({ ARN: `arn:${NAME}`, VersionIdsToStages: versions, Tags: tags });

const MINE = versionIdFor(NAME, 'key-1');
const OTHER = versionIdFor(NAME, 'crashed-key');

/** DynamoDB items the rotation reads, by key prefix and version. */
const records = (items: Record<string, Record<string, unknown>>) =>
  ddb.on(GetItemCommand).callsFake(async (input: { Key: { pk: { S: string } } }) => {
    const item = items[input.Key.pk.S];
    return item ? { Item: { ...item, expiresAt: { N: String(Date.now() / 1000 + 60) } } } : {};
  });

const stageCalls = () => sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
const writes = () => ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item);

const putName = (item: { pk: { S: string }; state?: { S: string } }): string => {
  const pk = item.pk.S;
  if (pk.startsWith('lease#')) return 'ddb:acquireLease';
  if (pk.startsWith('version#')) return `ddb:markVersion:${item.state?.S}`;
  return item.state?.S === 'started' ? 'ddb:bindKey' : `ddb:finishKey:${item.state?.S}`;
};

describe('rotatePassword', () => {
  beforeEach(() => {
    sm.reset();
    ddb.reset();
    log = [];
    sentPasswords = [];
    resetFails = undefined;
    readyFails = undefined;
    records({});
    ddb
      .on(PutItemCommand)
      .callsFake(async (input: { Item: { pk: { S: string }; state?: { S: string } } }) => {
        log.push(putName(input.Item));
        return {};
      });
    ddb.on(DeleteItemCommand).callsFake(record('ddb:releaseLease'));
    ddb.on(UpdateItemCommand).callsFake(record('ddb:handOver'));
    sm.on(PutSecretValueCommand).callsFake(record('sm:putPending'));
    sm.on(UpdateSecretVersionStageCommand).callsFake(record('sm:stage'));
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'per-deployment-key' });
  });

  it('binds the key, leases, checks the cluster, stores AWSPENDING, resets, records "applied", promotes', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    const result = await rotate();
    expect(log).toEqual([
      'ddb:bindKey',
      'ddb:acquireLease',
      'provider:assertReady',
      'sm:putPending',
      'ddb:markVersion:sent',
      'provider:reset',
      'ddb:markVersion:applied',
      'sm:stage',
      'sm:stage',
      'provider:awaitSettled',
      'ddb:finishKey:completed',
      'ddb:releaseLease',
    ]);
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      ClientRequestToken: MINE,
      SecretString: expect.any(String),
      VersionStages: ['AWSPENDING'],
    });
    const pending = sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(JSON.parse(pending?.SecretString ?? '{}')).toEqual({
      password: sentPasswords[0],
      username: 'cmak-admin',
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      rotatedAt: expect.any(String),
    });
    expect(stageCalls()).toEqual([
      { SecretId: NAME, VersionStage: 'AWSCURRENT', MoveToVersionId: MINE, RemoveFromVersionId: PLACEHOLDER },
      { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE },
    ]);
    expect(writes()[1]).toEqual({
      pk: { S: 'lease#ncloud-cdss#KR#1009123' },
      owner: { S: MINE },
      holder: { S: expect.stringMatching(/^lambda-req-1\//) },
      holderDeadline: { N: expect.any(String) },
      leaseUntil: { N: expect.any(String) },
      expiresAt: { N: expect.any(String) },
    });
    expect(writes().slice(2, 4)).toEqual([
      { pk: { S: `version#${NAME}#${MINE}` }, state: { S: 'sent' }, expiresAt: { N: expect.any(String) } },
      { pk: { S: `version#${NAME}#${MINE}` }, state: { S: 'applied' }, expiresAt: { N: expect.any(String) } },
    ]);
    expect(result).toEqual({
      ok: true,
      provider: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      region: 'KR',
      clusterId: '1009123',
      dryRun: false,
      password: { source: 'generated', stored: true, secretArn: `arn:${NAME}`, versionId: MINE },
      providerRequestId: 'provider-req-1',
      clusterState: 'ready',
      requestId: 'lambda-req-1',
      idempotencyKey: 'key-1',
      completedAt: expect.any(String),
    });
    expect(JSON.stringify(result)).not.toContain(sentPasswords[0]);
    // The fingerprint key is read only for a supplied password.
    expect(sm.commandCalls(GetSecretValueCommand)).toEqual([]);
  });

  it('creates a new secret with its identity tags and a placeholder first version', async () => {
    sm.on(DescribeSecretCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'none', $metadata: {} }))
      .resolves({
        ARN: `arn:${NAME}`,
        VersionIdsToStages: { [PLACEHOLDER]: ['AWSCURRENT'] },
        Tags: OWN_TAGS,
      });
    sm.on(CreateSecretCommand).resolves({});
    await rotate();
    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toEqual({
      Name: NAME,
      Description: 'Admin password of ncloud-cdss cluster 1009123 in KR, kept by cluster-password-reset',
      SecretString: JSON.stringify({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }),
      ClientRequestToken: PLACEHOLDER,
      Tags: [...OWN_TAGS, { Key: 'account', Value: 'default' }],
    });
  });

  it.each([
    [
      'another cluster',
      [...OWN_TAGS.slice(0, 3), { Key: 'cluster-id', Value: '1009999' }],
      'its cluster-id differ',
    ],
    ['no identity tags', [], 'this project did not create'],
  ])('refuses a secret of %s before anything is written or sent', async (_, tags, rule) => {
    existingSecret({ v: ['AWSCURRENT'] }, tags);
    const error = await rotate().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'secretId' }] });
    expect((error as ResetError).message).toContain(rule);
    expect(sentPasswords).toEqual([]);
    expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    expect(log.at(-1)).toBe('ddb:releaseLease');
  });

  it('checks the cluster before the secret is touched: an unknown cluster leaves nothing behind', async () => {
    readyFails = new ResetError('CLUSTER_NOT_FOUND', 'no such cluster');
    await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    expect(sm.calls()).toEqual([]);
    expect(log).toEqual(['ddb:bindKey', 'ddb:acquireLease', 'provider:assertReady', 'ddb:releaseLease']);
  });

  it('discards a password the provider refused for a passing reason, and releases the lease', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    resetFails = new ResetError('PROVIDER_THROTTLED', 'slow down');
    await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_THROTTLED' });
    expect(log.slice(log.indexOf('provider:reset'))).toEqual([
      'provider:reset',
      'ddb:markVersion:discarded',
      'sm:stage',
      'ddb:releaseLease',
    ]);
    expect(stageCalls()).toEqual([{ SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE }]);
  });

  it('records a refusal for good on the key, so that every retry answers the same failure', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    resetFails = new ResetError('PASSWORD_POLICY_VIOLATION', 'refused');
    await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
    expect(log.slice(log.indexOf('provider:reset'))).toEqual([
      'provider:reset',
      'ddb:markVersion:discarded',
      'sm:stage',
      'ddb:finishKey:failed',
      'ddb:releaseLease',
    ]);
  });

  it('keeps the pending password and the lease after an unknown outcome, handing it over to the same key', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    resetFails = new ResetError('PROVIDER_UNAVAILABLE', 'timeout');
    await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(log.slice(log.indexOf('provider:reset'))).toEqual(['provider:reset', 'ddb:handOver']);
    expect(stageCalls()).toEqual([]);
  });

  it('treats a refusal as unknown when an earlier invocation of this version may still be applied', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [MINE]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Stored-pw-1!' }),
    });
    ddb
      .on(PutItemCommand)
      .callsFake(async (input: { Item: { pk: { S: string }; state?: { S: string } } }) => {
        log.push(putName(input.Item));
        return input.Item.pk.S.startsWith('lease#')
          ? {
              Attributes: {
                owner: { S: MINE },
                holder: { S: 'dead/x' },
                leaseUntil: { N: String(Date.now() + 60_000) },
              },
            }
          : {};
      });
    resetFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy applying the earlier request');
    await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
    expect(log).not.toContain('ddb:markVersion:discarded');
    expect(log.at(-1)).toBe('ddb:handOver');
    expect(sentPasswords).toEqual(['Stored-pw-1!']);
  });

  it('keeps a re-sent password pending when the provider refuses it: an earlier send may have been applied', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    records({ [`version#${NAME}#${OTHER}`]: { state: { S: 'sent' } } });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Maybe-applied-1!' }),
    });
    resetFails = new ResetError('PROVIDER_REJECTED', 'refused');
    await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
    expect(sentPasswords).toEqual(['Maybe-applied-1!']);
    expect(stageCalls()).toEqual([]);
    expect(log).not.toContain('ddb:markVersion:discarded');
    expect(log).not.toContain('ddb:markVersion:sent');
    expect(log).not.toContain('ddb:finishKey:failed');
  });

  it('marks another attempt’s pending password refused but keeps it pending after a passing refusal', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Left-behind-1!' }),
    });
    resetFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
    await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
    expect(
      writes()
        .slice(2)
        .map((item) => item?.state?.S),
    ).toEqual(['sent', 'refused']);
    expect(stageCalls()).toEqual([]);
  });

  it('re-sends the stored pending password on a retry with the same key', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [MINE]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Stored-pw-1!' }),
    });
    await rotate();
    expect(log).not.toContain('sm:putPending');
    expect(sentPasswords).toEqual(['Stored-pw-1!']);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      VersionId: MINE,
    });
  });

  it('only promotes a pending version the provider is recorded to have applied', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [MINE]: ['AWSPENDING'] });
    records({ [`version#${NAME}#${MINE}`]: { state: { S: 'applied' } } });
    expect((await rotate()).ok).toBe(true);
    expect(sentPasswords).toEqual([]);
    expect(stageCalls()[0]).toMatchObject({ VersionStage: 'AWSCURRENT', MoveToVersionId: MINE });
  });

  it('answers ok, sending nothing, for an applied version since superseded (no label left)', async () => {
    existingSecret({ newer: ['AWSCURRENT'], newest: ['AWSPREVIOUS'] });
    records({ [`version#${NAME}#${MINE}`]: { state: { S: 'applied' } } });
    const result = await rotate();
    expect(result.password).toEqual({
      source: 'generated',
      stored: true,
      secretArn: `arn:${NAME}`,
      versionId: MINE,
    });
    expect(sentPasswords).toEqual([]);
    expect(log).not.toContain('sm:putPending');
  });

  it('labels its own version pending again after a passing refusal, and re-sends the same password', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    const error = { code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true };
    records({
      [`version#${NAME}#${MINE}`]: { state: { S: 'discarded' }, error: { S: JSON.stringify(error) } },
    });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Stored-pw-1!' }),
    });
    await rotate();
    expect(stageCalls()[0]).toEqual({ SecretId: NAME, VersionStage: 'AWSPENDING', MoveToVersionId: MINE });
    expect(sentPasswords).toEqual(['Stored-pw-1!']);
  });

  it('answers a discarded version refused for good with the same failure, sending nothing', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    const error = { code: 'PASSWORD_POLICY_VIOLATION', message: 'refused', retryable: false };
    records({
      [`version#${NAME}#${MINE}`]: { state: { S: 'discarded' }, error: { S: JSON.stringify(error) } },
    });
    await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION', replayed: true });
    expect(sentPasswords).toEqual([]);
  });

  it('finishes its own discard whose label removal failed: AWSPENDING removed, the refusal answered, nothing sent', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [MINE]: ['AWSPENDING'] });
    const error = { code: 'PASSWORD_POLICY_VIOLATION', message: 'refused', retryable: false };
    records({
      [`version#${NAME}#${MINE}`]: { state: { S: 'discarded' }, error: { S: JSON.stringify(error) } },
    });
    await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION', replayed: true });
    expect(stageCalls()).toEqual([{ SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE }]);
    expect(sentPasswords).toEqual([]);
  });

  it('never sends another attempt’s password recorded as discarded: the discard is finished, then its own', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    const error = { code: 'PASSWORD_POLICY_VIOLATION', message: 'refused', retryable: false };
    records({
      [`version#${NAME}#${OTHER}`]: { state: { S: 'discarded' }, error: { S: JSON.stringify(error) } },
    });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Refused-pw-1!' }),
    });
    expect((await rotate()).ok).toBe(true);
    expect(stageCalls()[0]).toEqual({
      SecretId: NAME,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: OTHER,
    });
    expect(sentPasswords).toHaveLength(1);
    expect(sentPasswords).not.toContain('Refused-pw-1!');
  });

  it('answers a completed key from its record without a lease, marked as a replay', async () => {
    const recorded = { ok: true, providerRequestId: 'first-attempt' };
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    const fingerprint = await fingerprints.of({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      secretName: NAME,
      storePassword: true,
    });
    records({
      'key#ncloud-cdss#key-1': {
        fingerprint: { S: fingerprint },
        state: { S: 'completed' },
        outcome: { S: JSON.stringify(recorded) },
      },
    });
    const result = await rotate();
    expect(result).toEqual(recorded);
    expect(isReplay(result)).toBe(true);
    expect(log).toEqual([]);
    expect(sm.calls()).toEqual([]);
  });

  it('refuses a key reused for a different request, before and after completion, sending nothing', async () => {
    records({
      'key#ncloud-cdss#key-1': { fingerprint: { S: 'of-another-request' }, state: { S: 'started' } },
    });
    await expect(rotate({ password: 'Other-pw-2!' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'idempotencyKey' }],
    });
    expect(sentPasswords).toEqual([]);
    expect(log).toEqual([]);
  });

  it('dry run: builds and signs, touches neither AWS nor the provider', async () => {
    const result = await rotate({ dryRun: true });
    expect(log).toEqual(['provider:prepareReset']);
    expect(sm.calls()).toEqual([]);
    expect(ddb.calls()).toEqual([]);
    expect(result).toMatchObject({ dryRun: true, password: { source: 'generated', stored: false } });
  });

  it('storePassword: false resets with the supplied password under the same lease, writing no version', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    const result = await rotate({ password: 'Supplied-pw-1!', storePassword: false });
    expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    expect(sentPasswords).toEqual(['Supplied-pw-1!']);
    expect(result.password).toEqual({ source: 'supplied', stored: false });
    expect(log).toEqual([
      'ddb:bindKey',
      'ddb:acquireLease',
      'provider:assertReady',
      'provider:reset',
      'provider:awaitSettled',
      'ddb:finishKey:completed',
      'ddb:releaseLease',
    ]);
  });

  it('rolls forward another attempt’s pending password, recording it applied, before its own', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Left-behind-1!' }),
    });
    await rotate();
    expect(sentPasswords[0]).toBe('Left-behind-1!');
    expect(sentPasswords).toHaveLength(2);
    expect(log.slice(0, 10)).toEqual([
      'ddb:bindKey',
      'ddb:acquireLease',
      'provider:assertReady',
      'ddb:markVersion:sent',
      'provider:reset',
      'ddb:markVersion:applied',
      'sm:stage',
      'sm:stage',
      'provider:awaitSettled',
      'provider:assertReady',
    ]);
    expect(stageCalls()[0]).toEqual({
      SecretId: NAME,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: OTHER,
      RemoveFromVersionId: PLACEHOLDER,
    });
    expect(writes()[2]).toMatchObject({ pk: { S: `version#${NAME}#${OTHER}` }, state: { S: 'sent' } });
  });

  it('discards another attempt’s pending password the provider refuses for good, then rotates its own', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Refused-pw-1!' }),
    });
    let first = true;
    fakeClient.reset = async (password) => {
      log.push('provider:reset');
      sentPasswords.push(password);
      if (first) {
        first = false;
        throw new ResetError('PASSWORD_POLICY_VIOLATION', 'refused');
      }
      return { providerRequestId: 'provider-req-2' };
    };
    try {
      expect((await rotate()).ok).toBe(true);
    } finally {
      fakeClient.reset = originalReset;
    }
    expect(stageCalls()[0]).toEqual({
      SecretId: NAME,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: OTHER,
    });
    expect(writes()[3]).toMatchObject({ pk: { S: `version#${NAME}#${OTHER}` }, state: { S: 'discarded' } });
    expect(sentPasswords).toHaveLength(2);
  });

  it('leaves another attempt’s pending password pending when the provider refuses it for a passing reason', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand, { SecretId: NAME }).resolves({
      SecretString: JSON.stringify({ password: 'Left-behind-1!' }),
    });
    resetFails = new ResetError('PROVIDER_THROTTLED', 'slow down');
    await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_THROTTLED' });
    expect(stageCalls()).toEqual([]);
    expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    expect(log.at(-1)).toBe('ddb:releaseLease');
  });

  /** Another token's AWSPENDING version without a value: a Secrets Manager rotation before createSecret. */
  const emptyPendingOf = (ageMs: number) => {
    sm.on(DescribeSecretCommand)
      .resolvesOnce({
        ARN: `arn:${NAME}`,
        VersionIdsToStages: { [PLACEHOLDER]: ['AWSCURRENT'], [OTHER]: ['AWSPENDING'] },
        Tags: OWN_TAGS,
      })
      .resolves({
        ARN: `arn:${NAME}`,
        VersionIdsToStages: { [PLACEHOLDER]: ['AWSCURRENT'] },
        Tags: OWN_TAGS,
      });
    sm.on(GetSecretValueCommand, { SecretId: NAME, VersionId: OTHER }).rejects(
      new ResourceNotFoundException({ message: 'no value', $metadata: {} }),
    );
    sm.on(ListSecretVersionIdsCommand).resolves({
      Versions: [
        { VersionId: PLACEHOLDER, CreatedDate: new Date(Date.now() - 86_400_000) },
        { VersionId: OTHER, CreatedDate: new Date(Date.now() - ageMs) },
      ],
    });
  };

  it('answers ROTATION_IN_PROGRESS for a young empty AWSPENDING version, sending and removing nothing', async () => {
    emptyPendingOf(10_000);
    await expect(rotate()).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: NAME, VersionId: OTHER },
    ]);
    expect(sm.commandCalls(ListSecretVersionIdsCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: NAME },
    ]);
    expect(stageCalls()).toEqual([]);
    expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    expect(sentPasswords).toEqual([]);
    expect(log).toEqual(['ddb:bindKey', 'ddb:acquireLease', 'provider:assertReady', 'ddb:releaseLease']);
  });

  it('removes AWSPENDING from an empty version older than a lease, then rotates its own', async () => {
    emptyPendingOf((config.leaseSeconds + 1) * 1000);
    const result = await rotate();
    expect(result.ok).toBe(true);
    expect(stageCalls()).toEqual([
      { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
      { SecretId: NAME, VersionStage: 'AWSCURRENT', MoveToVersionId: MINE, RemoveFromVersionId: PLACEHOLDER },
      { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE },
    ]);
    expect(log).toEqual([
      'ddb:bindKey',
      'ddb:acquireLease',
      'provider:assertReady',
      'sm:stage',
      'sm:putPending',
      'ddb:markVersion:sent',
      'provider:reset',
      'ddb:markVersion:applied',
      'sm:stage',
      'sm:stage',
      'provider:awaitSettled',
      'ddb:finishKey:completed',
      'ddb:releaseLease',
    ]);
    // Nothing was sent for the empty version: only this key's own password.
    expect(sentPasswords).toHaveLength(1);
    expect(writes().filter((item) => item?.pk?.S === `version#${NAME}#${OTHER}`)).toEqual([]);
  });

  it('answers success when only recording the result or releasing the lease fails', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    ddb
      .on(PutItemCommand)
      .callsFake(async (input: { Item: { pk: { S: string }; state?: { S: string } } }) => {
        if (input.Item.state?.S === 'completed')
          throw Object.assign(new Error('x'), { name: 'InternalServerError' });
        return {};
      });
    ddb.on(DeleteItemCommand).rejects(Object.assign(new Error('x'), { name: 'InternalServerError' }));
    expect((await rotate()).ok).toBe(true);
  });

  it('classifies failed resets: definitive refusals were not applied, anything else may have been', () => {
    expect(outcomeOfFailedReset(new ResetError('PROVIDER_REJECTED', 'x'))).toBe('not-applied');
    expect(outcomeOfFailedReset(new ResetError('CLUSTER_STATE_CONFLICT', 'x'))).toBe('not-applied');
    expect(outcomeOfFailedReset(new ResetError('PROVIDER_THROTTLED', 'x'))).toBe('not-applied');
    expect(outcomeOfFailedReset(new ResetError('PROVIDER_UNAVAILABLE', 'x'))).toBe('unknown');
    expect(outcomeOfFailedReset(new ResetError('INTERNAL', 'x'))).toBe('unknown');
    expect(outcomeOfFailedReset(new TypeError('x'))).toBe('unknown');
  });

  it('derives distinct, valid Secrets Manager version ids per secret and key', () => {
    const a = versionIdFor(NAME, 'key-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(versionIdFor(NAME, 'key-1')).toBe(a);
    expect(versionIdFor(NAME, 'key-2')).not.toBe(a);
    expect(versionIdFor(`${NAME}0`, 'key-1')).not.toBe(a);
  });
});
