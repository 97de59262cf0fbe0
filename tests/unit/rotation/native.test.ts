import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
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
import { passwordViolations } from '../../../lib/password/policy.ts';
import type { ClusterFacts, ClusterState } from '../../../lib/providers/types.ts';
import { ROTATION_STEPS, type RotationStep, runRotationStep } from '../../../lib/rotation/native.ts';
import { isReplay } from '../../../lib/rotation/rotate.ts';
import { mockedRotationDeps, scriptedProvider } from '../../support/scripted-provider.ts';

const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const config = readConfig({ STAGE: 'test' });
const NAME = `${config.secretPrefix}/ncloud-cdss/KR/1009123`;
/** Secrets Manager's ClientRequestToken of the rotation under test, and the version it names. */
const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';
const ROTATION_TOKEN = 'rotation-token-1';
const OLD = 'a0c1b2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';
const LEASE = 'lease#ncloud-cdss#KR#1009123';
const VERSION_RECORD = `version#${NAME}#${TOKEN}`;
const STORED_PASSWORD = 'Pending-pw-1!';
const INVOCATION_DEADLINE = Date.now() + 12_000;

/** Everything that happened, AWS calls and provider calls, in order. */
let log: string[];
let sentPasswords: string[];
let resetFails: unknown;
let readyFails: ResetError | undefined;
let facts: ClusterFacts;
let settled: ClusterState | undefined;
/** The staging labels DescribeSecret answers; undefined: no such secret. */
let versions: Record<string, string[]> | undefined;
let tags: Array<{ Key: string; Value: string }>;
/** The value of the token's version; undefined: none yet (the empty AWSPENDING version). */
let stored: Record<string, unknown> | undefined;
/** DynamoDB items by key (version records). */
let items: Record<string, Record<string, AttributeValue>>;
/** What the lease's PutItem answers: the item it replaced, or 'held' by another rotation. */
let oldLease: Record<string, AttributeValue> | 'held' | undefined;

const { provider } = scriptedProvider(() => ({
  log,
  sentPasswords,
  resetFails,
  readyFails,
  facts,
  settled,
}));
const deps = () => mockedRotationDeps(config);

const envelope = {
  provider: 'ncloud-cdss' as const,
  region: 'KR',
  clusterId: '1009123',
  account: 'default',
  secretId: NAME,
  storePassword: true,
  dryRun: false,
  idempotencyKey: TOKEN,
};

const run = (step: RotationStep, rotationToken: string | null = ROTATION_TOKEN) =>
  runRotationStep(deps(), {
    provider,
    envelope: envelope as Envelope & { idempotencyKey: string },
    credentials: { accessKey: 'AK', secretKey: 'SK' },
    requestId: 'lambda-req-1',
    deadline: Date.now() + 10_000,
    invocationDeadline: INVOCATION_DEADLINE,
    step,
    token: TOKEN,
    ...(rotationToken === null ? {} : { rotationToken }),
  });

const failure = async (step: RotationStep): Promise<ResetError> => {
  try {
    await run(step);
  } catch (error) {
    return error as ResetError;
  }
  throw new Error('expected the step to throw');
};

const OWN_TAGS = [
  { Key: 'managed-by', Value: 'cluster-password-reset' },
  { Key: 'provider', Value: 'ncloud-cdss' },
  { Key: 'region', Value: 'KR' },
  { Key: 'cluster-id', Value: '1009123' },
  { Key: 'account', Value: 'default' },
];

const PENDING = () => ({ [OLD]: ['AWSCURRENT'], [TOKEN]: ['AWSPENDING'] });

const recordState = (state: string, error?: unknown) => {
  items[VERSION_RECORD] = {
    state: { S: state },
    ...(error === undefined ? {} : { error: { S: JSON.stringify(error) } }),
  };
};

const putName = (item: { pk: { S: string }; state?: { S: string } }): string =>
  item.pk.S.startsWith('lease#') ? 'ddb:acquireLease' : `ddb:markVersion:${item.state?.S}`;

const stageCalls = () => sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
const leaseWrite = () => ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
const holder = () => leaseWrite()?.Item?.holder?.S;
const versionWrites = () =>
  ddb
    .commandCalls(PutItemCommand)
    .map((c) => c.args[0].input.Item)
    .filter((item) => item?.pk?.S === VERSION_RECORD);

/** The hand-over to the next step (or after an unknown outcome), as it is sent. */
const handOverInput = (mustExpire: boolean) => ({
  TableName: 'leases',
  Key: { pk: { S: LEASE } },
  UpdateExpression: 'SET holderDeadline = :ended, mustExpire = :mustExpire',
  ConditionExpression: '#owner = :owner AND holder = :holder',
  ExpressionAttributeNames: { '#owner': 'owner' },
  ExpressionAttributeValues: {
    ':ended': { N: '0' },
    ':mustExpire': { BOOL: mustExpire },
    ':owner': { S: TOKEN },
    ':holder': { S: holder() },
  },
});

const releaseInput = () => ({
  TableName: 'leases',
  Key: { pk: { S: LEASE } },
  ConditionExpression: '#owner = :owner AND holder = :holder',
  ExpressionAttributeNames: { '#owner': 'owner' },
  ExpressionAttributeValues: { ':owner': { S: TOKEN }, ':holder': { S: holder() } },
});

/** The reads every step makes under the lease before it does anything. */
const READS = ['ddb:acquireLease', 'sm:describe', 'ddb:versionRecord'];

describe('runRotationStep', () => {
  beforeEach(() => {
    sm.reset();
    ddb.reset();
    log = [];
    sentPasswords = [];
    resetFails = undefined;
    readyFails = undefined;
    facts = { username: 'cmak-admin' };
    settled = 'ready';
    versions = PENDING();
    tags = OWN_TAGS;
    stored = undefined;
    items = {};
    oldLease = undefined;
    ddb
      .on(PutItemCommand)
      .callsFake(async (input: { Item: { pk: { S: string }; state?: { S: string } } }) => {
        log.push(putName(input.Item));
        if (!input.Item.pk.S.startsWith('lease#')) return {};
        if (oldLease === 'held') throw new ConditionalCheckFailedException({ message: 'no', $metadata: {} });
        return oldLease ? { Attributes: oldLease } : {};
      });
    ddb.on(GetItemCommand).callsFake(async (input: { Key: { pk: { S: string } } }) => {
      log.push('ddb:versionRecord');
      const item = items[input.Key.pk.S];
      return item ? { Item: { ...item, expiresAt: { N: String(Date.now() / 1000 + 60) } } } : {};
    });
    ddb.on(DeleteItemCommand).callsFake(async () => {
      log.push('ddb:releaseLease');
      return {};
    });
    ddb.on(UpdateItemCommand).callsFake(async () => {
      log.push('ddb:handOver');
      return {};
    });
    sm.on(DescribeSecretCommand).callsFake(async () => {
      log.push('sm:describe');
      if (versions === undefined) throw new ResourceNotFoundException({ message: 'none', $metadata: {} });
      return { ARN: `arn:${NAME}`, Name: NAME, VersionIdsToStages: versions, Tags: tags };
    });
    sm.on(GetSecretValueCommand).callsFake(async () => {
      log.push('sm:read');
      if (stored === undefined) throw new ResourceNotFoundException({ message: 'none', $metadata: {} });
      return { SecretString: JSON.stringify(stored) };
    });
    sm.on(PutSecretValueCommand).callsFake(async () => {
      log.push('sm:putPending');
      return {};
    });
    sm.on(UpdateSecretVersionStageCommand).callsFake(async () => {
      log.push('sm:stage');
      return {};
    });
    sm.on(ListSecretVersionIdsCommand).callsFake(async () => {
      log.push('sm:listVersions');
      return { Versions: [] };
    });
  });

  describe('createSecret', () => {
    it('fills the empty AWSPENDING version of the token with a generated password, then releases the lease', async () => {
      const result = await run('createSecret');
      expect(log).toEqual([
        'ddb:acquireLease',
        'sm:describe',
        'ddb:versionRecord',
        'sm:read',
        'provider:assertReady',
        'sm:putPending',
        'ddb:releaseLease',
      ]);
      expect(leaseWrite()).toEqual({
        TableName: 'leases',
        Item: {
          pk: { S: LEASE },
          owner: { S: TOKEN },
          holder: { S: expect.stringMatching(/^lambda-req-1\//) },
          holderDeadline: { N: String(INVOCATION_DEADLINE) },
          leaseUntil: { N: expect.any(String) },
          expiresAt: { N: expect.any(String) },
        },
        ConditionExpression:
          'attribute_not_exists(pk) OR leaseUntil < :nowMs OR (#owner = :owner AND (holder = :holder OR holderDeadline < :nowMs))',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':nowMs': { N: expect.any(String) },
          ':owner': { S: TOKEN },
          ':holder': { S: holder() },
        },
        ReturnValues: 'ALL_OLD',
      });
      expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([
        { SecretId: NAME },
      ]);
      expect(ddb.commandCalls(GetItemCommand).map((c) => c.args[0].input)).toEqual([
        { TableName: 'leases', Key: { pk: { S: VERSION_RECORD } }, ConsistentRead: true },
      ]);
      expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
        { SecretId: NAME, VersionId: TOKEN },
      ]);
      const put = sm.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input);
      expect(put).toEqual([
        {
          SecretId: NAME,
          ClientRequestToken: TOKEN,
          SecretString: expect.any(String),
          VersionStages: ['AWSPENDING'],
          RotationToken: ROTATION_TOKEN,
        },
      ]);
      const value = JSON.parse(put[0]?.SecretString ?? '{}');
      expect(value).toEqual({
        password: expect.any(String),
        username: 'cmak-admin',
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1009123',
        rotatedAt: expect.any(String),
      });
      expect(passwordViolations(provider.passwordPolicy, value.password)).toEqual([]);
      expect(ddb.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([releaseInput()]);
      expect(ddb.commandCalls(UpdateItemCommand)).toEqual([]);
      expect(sentPasswords).toEqual([]);
      expect(result).toEqual({
        ok: true,
        provider: 'ncloud-cdss',
        operation: 'reset-cmak-password',
        region: 'KR',
        clusterId: '1009123',
        dryRun: false,
        password: { source: 'generated', stored: true, secretArn: `arn:${NAME}`, versionId: TOKEN },
        requestId: 'lambda-req-1',
        idempotencyKey: TOKEN,
        completedAt: expect.any(String),
      });
      expect(JSON.stringify(result)).not.toContain(value.password);
      expect(isReplay(result)).toBe(false);
    });

    it('stores no username when the cluster names none, and no RotationToken when the event had none', async () => {
      facts = {};
      await run('createSecret', null);
      const put = sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
      expect(put).not.toHaveProperty('RotationToken');
      expect(Object.keys(JSON.parse(put?.SecretString ?? '{}')).sort()).toEqual([
        'clusterId',
        'password',
        'provider',
        'region',
        'rotatedAt',
      ]);
    });

    it('leaves a version that already holds a password alone: no provider call, no write', async () => {
      stored = { password: STORED_PASSWORD, provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' };
      const result = await run('createSecret');
      expect(log).toEqual([...READS, 'sm:read', 'ddb:releaseLease']);
      expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
      expect(isReplay(result)).toBe(true);
    });

    it('refuses a pending version that holds a value without a password', async () => {
      stored = { provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' };
      expect(await failure('createSecret')).toMatchObject({ code: 'SECRET_STORE_FAILED' });
      expect(log).toEqual([...READS, 'sm:read', 'ddb:releaseLease']);
    });

    it('checks the cluster before it writes a password: an unknown cluster leaves nothing', async () => {
      readyFails = new ResetError('CLUSTER_NOT_FOUND', 'no such cluster');
      expect(await failure('createSecret')).toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
      expect(log).toEqual([...READS, 'sm:read', 'provider:assertReady', 'ddb:releaseLease']);
      expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    });
  });

  describe('setSecret', () => {
    beforeEach(() => {
      stored = { password: STORED_PASSWORD, provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' };
    });

    it('records "sent", resets with exactly the stored password, records "applied", hands the lease over', async () => {
      const result = await run('setSecret');
      expect(log).toEqual([
        ...READS,
        'sm:read',
        'provider:assertReady',
        'ddb:markVersion:sent',
        'provider:reset',
        'ddb:markVersion:applied',
        'ddb:handOver',
      ]);
      expect(sentPasswords).toEqual([STORED_PASSWORD]);
      expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
        { SecretId: NAME, VersionId: TOKEN },
      ]);
      expect(versionWrites()).toEqual([
        { pk: { S: VERSION_RECORD }, state: { S: 'sent' }, expiresAt: { N: expect.any(String) } },
        { pk: { S: VERSION_RECORD }, state: { S: 'applied' }, expiresAt: { N: expect.any(String) } },
      ]);
      expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([handOverInput(false)]);
      expect(ddb.commandCalls(DeleteItemCommand)).toEqual([]);
      expect(stageCalls()).toEqual([]);
      expect(sm.commandCalls(PutSecretValueCommand)).toEqual([]);
      expect(result).toMatchObject({
        ok: true,
        providerRequestId: 'provider-req-1',
        password: { source: 'generated', stored: true, secretArn: `arn:${NAME}`, versionId: TOKEN },
      });
      expect(JSON.stringify(result)).not.toContain(STORED_PASSWORD);
      expect(isReplay(result)).toBe(false);
    });

    it('sends nothing for a version the provider is recorded to have applied', async () => {
      recordState('applied');
      const result = await run('setSecret');
      expect(log).toEqual([...READS, 'ddb:handOver']);
      expect(sentPasswords).toEqual([]);
      expect(result.ok).toBe(true);
    });

    it('waits for the cluster to settle before a re-send of a version recorded "sent"', async () => {
      recordState('sent');
      await run('setSecret');
      expect(log).toEqual([
        ...READS,
        'sm:read',
        'provider:awaitSettled',
        'provider:assertReady',
        'provider:reset',
        'ddb:markVersion:applied',
        'ddb:handOver',
      ]);
      expect(sentPasswords).toEqual([STORED_PASSWORD]);
    });

    it.each([
      ['PROVIDER_UNAVAILABLE', new ResetError('PROVIDER_UNAVAILABLE', 'timeout')],
      ['an unexpected error', new TypeError('socket hang up')],
    ])('throws after an unknown outcome (%s), keeping the lease until it expires', async (_, error) => {
      resetFails = error;
      await expect(run('setSecret')).rejects.toBe(error);
      expect(log.slice(log.indexOf('provider:reset'))).toEqual(['provider:reset', 'ddb:handOver']);
      expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([handOverInput(true)]);
      expect(ddb.commandCalls(DeleteItemCommand)).toEqual([]);
      expect(stageCalls()).toEqual([]);
    });

    it('records a passing refusal at the first send as "refused", keeps AWSPENDING, releases the lease', async () => {
      resetFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
      expect(await failure('setSecret')).toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
      expect(log.slice(log.indexOf('provider:reset'))).toEqual([
        'provider:reset',
        'ddb:markVersion:refused',
        'ddb:releaseLease',
      ]);
      expect(versionWrites()[1]).toEqual({
        pk: { S: VERSION_RECORD },
        state: { S: 'refused' },
        error: { S: JSON.stringify({ code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true }) },
        expiresAt: { N: expect.any(String) },
      });
      expect(stageCalls()).toEqual([]);
      expect(ddb.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([releaseInput()]);
    });

    it('discards a password refused for good: recorded "discarded", then AWSPENDING removed', async () => {
      resetFails = new ResetError('PASSWORD_POLICY_VIOLATION', 'refused');
      expect(await failure('setSecret')).toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
      expect(log.slice(log.indexOf('provider:reset'))).toEqual([
        'provider:reset',
        'ddb:markVersion:discarded',
        'sm:stage',
        'ddb:releaseLease',
      ]);
      expect(versionWrites()[1]).toMatchObject({ state: { S: 'discarded' } });
      expect(stageCalls()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN },
      ]);
    });

    it('treats a refusal as inconclusive in a re-entered lease: nothing discarded, the lease kept', async () => {
      oldLease = {
        owner: { S: TOKEN },
        holder: { S: 'dead/x' },
        holderDeadline: { N: String(Date.now() - 1_000) },
        leaseUntil: { N: String(Date.now() + 60_000) },
      };
      resetFails = new ResetError('PROVIDER_REJECTED', 'refused');
      expect(await failure('setSecret')).toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(log.slice(log.indexOf('provider:reset'))).toEqual(['provider:reset', 'ddb:handOver']);
      expect(stageCalls()).toEqual([]);
      expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([handOverInput(true)]);
    });
  });

  describe('testSecret', () => {
    it.each([undefined, 'sent', 'refused'])(
      'refuses a version not recorded "applied" (%s), sending nothing',
      async (state) => {
        if (state) recordState(state);
        const error = await failure('testSecret');
        expect(error).toMatchObject({ code: 'VALIDATION_FAILED', name: 'ValidationFailed' });
        expect(error.fields?.map((f) => f.field)).toEqual(['Step']);
        expect(log).toEqual([...READS, 'ddb:releaseLease']);
        expect(sentPasswords).toEqual([]);
      },
    );

    it('answers ok once the cluster has settled ready, and hands the lease over', async () => {
      recordState('applied');
      const result = await run('testSecret');
      expect(log).toEqual([...READS, 'provider:awaitSettled', 'ddb:handOver']);
      expect(result).toMatchObject({ ok: true, clusterState: 'ready' });
      expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([handOverInput(false)]);
      expect(sm.commandCalls(GetSecretValueCommand)).toEqual([]);
      expect(sentPasswords).toEqual([]);
    });

    it.each([
      ['changing', 'CLUSTER_STATE_CONFLICT'],
      ['error', 'PROVIDER_REJECTED'],
      [undefined, 'PROVIDER_UNAVAILABLE'],
    ] as const)('fails when the cluster settles %s: %s', async (state, code) => {
      recordState('applied');
      settled = state;
      expect(await failure('testSecret')).toMatchObject({ code });
      expect(log).toEqual([...READS, 'provider:awaitSettled', 'ddb:releaseLease']);
      expect(sentPasswords).toEqual([]);
    });
  });

  describe('finishSecret', () => {
    it('moves AWSCURRENT to the token, then removes its AWSPENDING, and releases the lease', async () => {
      recordState('applied');
      const result = await run('finishSecret');
      expect(log).toEqual([...READS, 'sm:stage', 'sm:stage', 'ddb:releaseLease']);
      expect(stageCalls()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSCURRENT', MoveToVersionId: TOKEN, RemoveFromVersionId: OLD },
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN },
      ]);
      expect(ddb.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([releaseInput()]);
      expect(ddb.commandCalls(UpdateItemCommand)).toEqual([]);
      expect(result).toMatchObject({ ok: true, password: { versionId: TOKEN } });
      expect(isReplay(result)).toBe(false);
      expect(sentPasswords).toEqual([]);
    });

    it('promotes nothing before setSecret has applied the version', async () => {
      recordState('sent');
      expect(await failure('finishSecret')).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'Step' }],
      });
      expect(stageCalls()).toEqual([]);
    });

    it('releases a lease continued from a clean hand-over', async () => {
      recordState('applied');
      oldLease = {
        owner: { S: TOKEN },
        holder: { S: 'lambda-req-0/earlier-step' },
        holderDeadline: { N: '0' },
        mustExpire: { BOOL: false },
        leaseUntil: { N: String(Date.now() + 60_000) },
      };
      await run('finishSecret');
      expect(log.at(-1)).toBe('ddb:releaseLease');
      expect(ddb.commandCalls(UpdateItemCommand)).toEqual([]);
    });

    it.each([
      [
        'its earlier holder died',
        { holderDeadline: { N: String(Date.now() - 1_000) } } as Record<string, AttributeValue>,
      ],
      ['it must expire', { holderDeadline: { N: '0' }, mustExpire: { BOOL: true } }],
    ])('keeps a re-entered lease (%s): hands it over instead of releasing it', async (_, change) => {
      recordState('applied');
      oldLease = {
        owner: { S: TOKEN },
        holder: { S: 'lambda-req-0/earlier-step' },
        leaseUntil: { N: String(Date.now() + 60_000) },
        ...change,
      };
      await run('finishSecret');
      expect(stageCalls()).toHaveLength(2);
      expect(log.at(-1)).toBe('ddb:handOver');
      expect(ddb.commandCalls(DeleteItemCommand)).toEqual([]);
      expect(ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input)).toEqual([handOverInput(true)]);
    });
  });

  describe.each(ROTATION_STEPS)('every step: %s', (step) => {
    it('has nothing left to do for a token already AWSCURRENT: a replay', async () => {
      versions = { [TOKEN]: ['AWSCURRENT'], [OLD]: ['AWSPREVIOUS'] };
      stored = { password: STORED_PASSWORD };
      recordState('applied');
      const result = await run(step);
      expect(log).toEqual([...READS, 'ddb:releaseLease']);
      expect(isReplay(result)).toBe(true);
      expect(result).toMatchObject({ ok: true, password: { versionId: TOKEN } });
      expect(sm.commandCalls(GetSecretValueCommand)).toEqual([]);
      expect(stageCalls()).toEqual([]);
      expect(sentPasswords).toEqual([]);
    });

    it('removes an AWSPENDING label left on the token once it is AWSCURRENT (a finish that died midway)', async () => {
      versions = { [TOKEN]: ['AWSCURRENT', 'AWSPENDING'], [OLD]: ['AWSPREVIOUS'] };
      recordState('applied');
      const result = await run(step);
      expect(log).toEqual([...READS, 'sm:stage', 'ddb:releaseLease']);
      expect(stageCalls()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN },
      ]);
      expect(isReplay(result)).toBe(true);
      expect(sentPasswords).toEqual([]);
    });

    it('has nothing left to do for a token no longer pending but recorded "applied"', async () => {
      versions = { [OLD]: ['AWSCURRENT'] };
      recordState('applied');
      const result = await run(step);
      expect(log).toEqual([...READS, 'ddb:releaseLease']);
      expect(isReplay(result)).toBe(true);
      expect(sentPasswords).toEqual([]);
    });

    it('answers the recorded failure for a token discarded', async () => {
      versions = { [OLD]: ['AWSCURRENT'] };
      recordState('discarded', { code: 'PASSWORD_POLICY_VIOLATION', message: 'refused', retryable: false });
      expect(await failure(step)).toMatchObject({
        code: 'PASSWORD_POLICY_VIOLATION',
        message: 'refused',
        replayed: true,
      });
      expect(log).toEqual([...READS, 'ddb:releaseLease']);
      expect(sentPasswords).toEqual([]);
    });

    it('finishes a discard whose label removal failed: AWSPENDING removed, the refusal answered, nothing sent', async () => {
      // The token is still pending, but its record says it was refused for good.
      recordState('discarded', { code: 'PASSWORD_POLICY_VIOLATION', message: 'refused', retryable: false });
      expect(await failure(step)).toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION', replayed: true });
      expect(stageCalls()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN },
      ]);
      expect(sentPasswords).toEqual([]);
      expect(versionWrites()).toEqual([]);
    });

    it('refuses a token that names no pending version and has no record', async () => {
      versions = { [OLD]: ['AWSCURRENT'] };
      const error = await failure(step);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fields?.map((f) => f.field)).toEqual(['ClientRequestToken']);
      expect(log).toEqual([...READS, 'ddb:releaseLease']);
    });

    it('answers ROTATION_IN_PROGRESS, touching no secret, while another rotation holds the lease', async () => {
      oldLease = 'held';
      expect(await failure(step)).toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
      expect(log).toEqual(['ddb:acquireLease']);
      expect(sm.calls()).toEqual([]);
      expect(sentPasswords).toEqual([]);
    });

    it('refuses a secret that is gone, or one of another cluster, before anything is read or sent', async () => {
      versions = undefined;
      expect(await failure(step)).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'SecretId' }],
      });
      versions = PENDING();
      tags = OWN_TAGS.map((tag) => (tag.Key === 'cluster-id' ? { ...tag, Value: '1009999' } : tag));
      expect(await failure(step)).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'secretId' }],
      });
      expect(sm.commandCalls(GetSecretValueCommand)).toEqual([]);
      expect(ddb.commandCalls(GetItemCommand)).toEqual([]);
      expect(sentPasswords).toEqual([]);
    });
  });
});
