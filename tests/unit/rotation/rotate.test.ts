import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import type { ProviderClient, ProviderDefinition } from '../../../lib/providers/types.ts';
import { LeaseTable } from '../../../lib/rotation/lease-table.ts';
import { rotatePassword, versionIdFor } from '../../../lib/rotation/rotate.ts';
import { SecretStore } from '../../../lib/rotation/secret-store.ts';

const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const config = readConfig({ STAGE: 'test' });
const NAME = 'cluster-password-reset/ncloud-cdss/KR/1009123';
const PLACEHOLDER = versionIdFor(NAME, '(placeholder)');

/** Everything that happened, AWS calls and provider calls, in order. */
let log: string[];
let sentPasswords: string[];
let resetFails: ResetError | undefined;
let readyFails: ResetError | undefined;

const fakeClient: ProviderClient = {
  assertReady: async () => {
    log.push('provider:assertReady');
    if (readyFails) throw readyFails;
    return { username: 'cmak-admin' };
  },
  prepareReset: () => {
    log.push('provider:prepareReset');
    return { method: 'POST', url: 'https://example/reset', signedHeaders: ['x'] };
  },
  reset: async (password) => {
    log.push('provider:reset');
    sentPasswords.push(password);
    if (resetFails) throw resetFails;
    return { providerRequestId: 'provider-req-1' };
  },
  awaitSettled: async () => {
    log.push('provider:awaitSettled');
    return 'running';
  },
};
const provider: ProviderDefinition<unknown> = {
  ...(ncloudCdss as ProviderDefinition<unknown>),
  createClient: () => fakeClient,
};

const deps = () => ({
  secrets: new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' })),
  leases: new LeaseTable(new DynamoDBClient({ region: 'eu-central-1' }), 'leases', 120),
  config,
});

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
  });

const record = (name: string) => async () => {
  log.push(name);
  return {};
};

const existingSecret = (versions: Record<string, string[]>) =>
  sm.on(DescribeSecretCommand).resolves({ ARN: `arn:${NAME}`, VersionIdsToStages: versions });

describe('rotatePassword', () => {
  beforeEach(() => {
    sm.reset();
    ddb.reset();
    log = [];
    sentPasswords = [];
    resetFails = undefined;
    readyFails = undefined;
    ddb.on(GetItemCommand).callsFake(record('ddb:GetItem'));
    ddb.on(PutItemCommand).callsFake(async (input: { Item: { pk: { S: string } } }) => {
      log.push(input.Item.pk.S.startsWith('lease#') ? 'ddb:acquireLease' : 'ddb:recordResult');
      return {};
    });
    ddb.on(DeleteItemCommand).callsFake(record('ddb:releaseLease'));
    sm.on(PutSecretValueCommand).callsFake(record('sm:putPending'));
    sm.on(UpdateSecretVersionStageCommand).callsFake(record('sm:updateStage'));
  });

  it('checks the cluster, stores the new password as AWSPENDING before it is sent, and promotes it only after', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    const result = await rotate();
    expect(log).toEqual([
      'ddb:GetItem',
      'ddb:acquireLease',
      'provider:assertReady',
      'sm:putPending',
      'provider:reset',
      'sm:updateStage',
      'sm:updateStage',
      'provider:awaitSettled',
      'ddb:recordResult',
      'ddb:releaseLease',
    ]);
    const pending = sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(pending?.ClientRequestToken).toBe(versionIdFor(NAME, 'key-1'));
    expect(JSON.parse(pending?.SecretString ?? '{}')).toEqual({
      password: sentPasswords[0],
      username: 'cmak-admin',
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      rotatedAt: expect.any(String),
    });
    expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toMatchObject({
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: versionIdFor(NAME, 'key-1'),
      RemoveFromVersionId: PLACEHOLDER,
    });
    expect(result).toMatchObject({
      ok: true,
      password: {
        source: 'generated',
        stored: true,
        secretArn: `arn:${NAME}`,
        versionId: versionIdFor(NAME, 'key-1'),
      },
      providerRequestId: 'provider-req-1',
      clusterState: 'running',
      idempotencyKey: 'key-1',
    });
    expect(JSON.stringify(result)).not.toContain(sentPasswords[0]);
  });

  it('leaves AWSCURRENT alone and releases the lease when the provider refuses', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    resetFails = new ResetError('PROVIDER_THROTTLED', 'slow down');
    await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_THROTTLED' });
    expect(log).not.toContain('sm:updateStage');
    expect(log).not.toContain('ddb:recordResult');
    expect(log.at(-1)).toBe('ddb:releaseLease');
  });

  it('sends nothing when the cluster is not ready', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    readyFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
    await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
    expect(sentPasswords).toEqual([]);
  });

  it('re-sends the stored pending password on a retry with the same key', async () => {
    const version = versionIdFor(NAME, 'key-1');
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [version]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'Stored-pw-1!' }) });
    await rotate();
    expect(log).not.toContain('sm:putPending');
    expect(sentPasswords).toEqual(['Stored-pw-1!']);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      VersionId: version,
    });
  });

  it('refuses to reuse a key with a different supplied password', async () => {
    const version = versionIdFor(NAME, 'key-1');
    existingSecret({ [version]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'Stored-pw-1!' }) });
    await expect(rotate({ password: 'Other-pw-2!' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(sentPasswords).toEqual([]);
  });

  it('answers a recorded result without taking the lease or sending anything', async () => {
    const recorded = { ok: true, providerRequestId: 'first-attempt' };
    ddb.on(GetItemCommand).resolves({
      Item: { result: { S: JSON.stringify(recorded) }, expiresAt: { N: String(Date.now() / 1000 + 60) } },
    });
    expect(await rotate()).toEqual(recorded);
    expect(log).toEqual([]);
    expect(sm.calls()).toHaveLength(0);
  });

  it('dry run: builds and signs, touches neither AWS nor the provider', async () => {
    const result = await rotate({ dryRun: true });
    expect(log).toEqual(['provider:prepareReset']);
    expect(sm.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
    expect(result).toMatchObject({ dryRun: true, password: { source: 'generated', stored: false } });
  });

  it('storePassword: false resets with the supplied password and keeps no secret', async () => {
    const result = await rotate({ password: 'Supplied-pw-1!', storePassword: false });
    expect(sm.calls()).toHaveLength(0);
    expect(sentPasswords).toEqual(['Supplied-pw-1!']);
    expect(result.password).toEqual({ source: 'supplied', stored: false });
  });

  it('rolls forward a pending password of another attempt before rotating to its own', async () => {
    const stale = versionIdFor(NAME, 'crashed-key');
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'], [stale]: ['AWSPENDING'] });
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ password: 'Left-behind-1!' }) });
    await rotate();
    const mine = versionIdFor(NAME, 'key-1');
    expect(sentPasswords[0]).toBe('Left-behind-1!');
    expect(sentPasswords).toHaveLength(2);
    const stages = sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
    expect(stages[0]).toMatchObject({
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: stale,
      RemoveFromVersionId: PLACEHOLDER,
    });
    expect(stages.at(-2)).toMatchObject({ VersionStage: 'AWSCURRENT', MoveToVersionId: mine });
    expect(log.indexOf('sm:putPending')).toBeGreaterThan(log.indexOf('provider:reset'));
  });

  it('never re-sends a version of this key that completed and was superseded', async () => {
    const version = versionIdFor(NAME, 'key-1');
    existingSecret({ [version]: ['AWSPREVIOUS'], other: ['AWSCURRENT'] });
    const result = await rotate();
    expect(sentPasswords).toEqual([]);
    expect(log).not.toContain('sm:putPending');
    expect(result.password.versionId).toBe(version);
  });

  it('answers success when only recording the result or releasing the lease fails', async () => {
    existingSecret({ [PLACEHOLDER]: ['AWSCURRENT'] });
    ddb.on(PutItemCommand).callsFake(async (input: { Item: { pk: { S: string } } }) => {
      if (!input.Item.pk.S.startsWith('lease#'))
        throw Object.assign(new Error('x'), { name: 'InternalServerError' });
      return {};
    });
    ddb.on(DeleteItemCommand).rejects(Object.assign(new Error('x'), { name: 'InternalServerError' }));
    expect((await rotate()).ok).toBe(true);
  });

  it('derives distinct, valid Secrets Manager version ids per secret and key', () => {
    const a = versionIdFor(NAME, 'key-1');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(versionIdFor(NAME, 'key-1')).toBe(a);
    expect(versionIdFor(NAME, 'key-2')).not.toBe(a);
    expect(versionIdFor(`${NAME}0`, 'key-1')).not.toBe(a);
  });
});
