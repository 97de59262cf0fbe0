import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import { ResetError } from '../../../lib/errors.ts';
import { identityMismatch, identityTags, SecretStore } from '../../../lib/rotation/secret-store.ts';

const sm = mockClient(SecretsManagerClient);
const store = new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' }));
const NAME = `${readConfig({ STAGE: 'test' }).secretPrefix}/ncloud-cdss/KR/1009123`;
const ARN = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${NAME}-AbCdEf`;
const target = { provider: 'ncloud-cdss' as const, region: 'KR', clusterId: '1009123' };

describe('secret identity', () => {
  const state = (tags: Record<string, string>) => ({
    arn: ARN,
    name: 'name',
    rotationEnabled: false,
    versions: new Map(),
    tags,
  });
  const own = identityTags({ ...target, projectId: 'p1' });

  it('tags a secret with the project and the cluster it belongs to', () => {
    expect(own).toEqual({
      'managed-by': 'cluster-password-reset',
      provider: 'ncloud-cdss',
      region: 'KR',
      'cluster-id': '1009123',
      'project-id': 'p1',
    });
  });

  it('accepts its own cluster only', () => {
    expect(identityMismatch(state(own), { ...target, projectId: 'p1' })).toBeUndefined();
    expect(identityMismatch(state({ ...own, 'cluster-id': '1' }), { ...target, projectId: 'p1' })).toBe(
      'names the secret of another cluster (its cluster-id differ)',
    );
    expect(
      identityMismatch(state({ ...own, region: 'SGN', provider: 'otc-css' }), { ...target, projectId: 'p1' }),
    ).toBe('names the secret of another cluster (its provider, region differ)');
    expect(identityMismatch(state({}), target)).toBe(
      'names a secret this project did not create (it has no identity tags)',
    );
  });
});

describe('SecretStore', () => {
  beforeEach(() => sm.reset());

  it('creates a missing secret with a placeholder first version that holds no password', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN,
      Name: NAME,
      VersionIdsToStages: { 'placeholder-token-0000000000000000': ['AWSCURRENT'] },
      Tags: [{ Key: 'managed-by', Value: 'cluster-password-reset' }],
    });
    sm.on(CreateSecretCommand).resolves({ ARN });
    const state = await store.create(NAME, target, 'placeholder-token-0000000000000000', 'team-a');
    expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toEqual({
      Name: NAME,
      Description: 'Admin password of ncloud-cdss cluster 1009123 in KR, kept by cluster-password-reset',
      SecretString: JSON.stringify({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }),
      ClientRequestToken: 'placeholder-token-0000000000000000',
      Tags: [
        { Key: 'managed-by', Value: 'cluster-password-reset' },
        { Key: 'provider', Value: 'ncloud-cdss' },
        { Key: 'region', Value: 'KR' },
        { Key: 'cluster-id', Value: '1009123' },
        // Not identity: the credentials account Secrets Manager's own rotation will use.
        { Key: 'account', Value: 'team-a' },
      ],
    });
    expect(state).toEqual({
      arn: ARN,
      name: NAME,
      rotationEnabled: false,
      versions: new Map([['placeholder-token-0000000000000000', ['AWSCURRENT']]]),
      tags: { 'managed-by': 'cluster-password-reset' },
    });
  });

  it('uses the secret another rotation created in between, as it is (the caller checks its tags)', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN,
      Name: NAME,
      VersionIdsToStages: { 'their-placeholder': ['AWSCURRENT'] },
      Tags: [
        { Key: 'managed-by', Value: 'cluster-password-reset' },
        { Key: 'account', Value: 'team-b' },
      ],
    });
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    expect(await store.create(NAME, target, 't'.repeat(32), 'default')).toEqual({
      arn: ARN,
      name: NAME,
      rotationEnabled: false,
      versions: new Map([['their-placeholder', ['AWSCURRENT']]]),
      tags: { 'managed-by': 'cluster-password-reset', account: 'team-b' },
    });
    expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: NAME }]);
  });

  it('fails when the secret it created is gone when read back (deleted in between)', async () => {
    sm.on(CreateSecretCommand).resolves({ ARN });
    sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const error = await store.create(NAME, target, 't'.repeat(32), 'default').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResetError);
    expect(error).toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'Secrets Manager DescribeSecret failed (Error)',
      cause: { message: 'secret missing after creation' },
    });
  });

  it('describes a secret by whichever id the caller gave, naming it by its name', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN,
      Name: NAME,
      RotationEnabled: true,
      VersionIdsToStages: { v1: ['AWSCURRENT'], v2: ['AWSPENDING'] },
      Tags: [
        { Key: 'managed-by', Value: 'cluster-password-reset' },
        { Key: 'account', Value: 'team-a' },
      ],
    });
    expect(await store.describe(ARN)).toEqual({
      arn: ARN,
      name: NAME,
      rotationEnabled: true,
      versions: new Map([
        ['v1', ['AWSCURRENT']],
        ['v2', ['AWSPENDING']],
      ]),
      tags: { 'managed-by': 'cluster-password-reset', account: 'team-a' },
    });
    expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: ARN }]);
  });

  it('describes a secret with no rotation, no labelled version and no tags as empty; a tag without a value as ""', async () => {
    sm.on(DescribeSecretCommand)
      .resolvesOnce({ ARN, Name: NAME })
      .resolvesOnce({
        ARN,
        Name: NAME,
        Tags: [{ Key: 'account' }],
      });
    expect(await store.describe(NAME)).toEqual({
      arn: ARN,
      name: NAME,
      rotationEnabled: false,
      versions: new Map(),
      tags: {},
    });
    expect((await store.describe(NAME))?.tags).toEqual({ account: '' });
  });

  it('describes a secret that does not exist as undefined', async () => {
    sm.on(DescribeSecretCommand).rejects(
      new ResourceNotFoundException({ message: 'not found', $metadata: {} }),
    );
    expect(await store.describe(NAME)).toBeUndefined();
  });

  describe('the KMS key of a new secret (SECRETS_KMS_KEY_ID)', () => {
    const createInput = async (secrets: SecretStore) => {
      sm.on(DescribeSecretCommand).resolves({ ARN, Name: NAME, VersionIdsToStages: {} });
      sm.on(CreateSecretCommand).resolves({ ARN });
      await secrets.create(NAME, target, 'placeholder-token-0000000000000000', 'default');
      return sm.commandCalls(CreateSecretCommand)[0]?.args[0].input;
    };
    const TAGS = [
      { Key: 'managed-by', Value: 'cluster-password-reset' },
      { Key: 'provider', Value: 'ncloud-cdss' },
      { Key: 'region', Value: 'KR' },
      { Key: 'cluster-id', Value: '1009123' },
      { Key: 'account', Value: 'default' },
    ];
    const WITHOUT_KEY = {
      Name: NAME,
      Description: 'Admin password of ncloud-cdss cluster 1009123 in KR, kept by cluster-password-reset',
      SecretString: JSON.stringify({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }),
      ClientRequestToken: 'placeholder-token-0000000000000000',
      Tags: TAGS,
    };

    it('passes the configured key as KmsKeyId', async () => {
      const keyArn = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
      const secrets = new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' }), {
        kmsKeyId: readConfig({ SECRETS_KMS_KEY_ID: keyArn }).secretsKmsKeyId,
      });
      expect(await createInput(secrets)).toStrictEqual({ ...WITHOUT_KEY, KmsKeyId: keyArn });
    });

    it.each([
      ['unset', {}],
      ['empty', { SECRETS_KMS_KEY_ID: '' }],
    ])(
      'leaves KmsKeyId out when the variable is %s (Secrets Manager then uses aws/secretsmanager)',
      async (_, env) => {
        const secrets = new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' }), {
          kmsKeyId: readConfig(env).secretsKmsKeyId,
        });
        const input = await createInput(secrets);
        expect(input).toStrictEqual(WITHOUT_KEY);
        expect(input).not.toHaveProperty('KmsKeyId');
      },
    );

    it('changes nothing but CreateSecret: versions are written under the secret’s own key', async () => {
      sm.on(PutSecretValueCommand).resolves({});
      const secrets = new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' }), {
        kmsKeyId: 'alias/x',
      });
      await secrets.putPending(NAME, 'version-token-1', {
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1',
      });
      expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).not.toHaveProperty('KmsKeyId');
    });
  });

  it('writes the pending version with the derived token and only the AWSPENDING label', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    const value = {
      password: 'pw-Value-1!',
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      rotatedAt: 't',
    };
    expect(await store.putPending(NAME, 'version-token-1', value)).toBe('stored');
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      ClientRequestToken: 'version-token-1',
      SecretString: JSON.stringify(value),
      VersionStages: ['AWSPENDING'],
    });
  });

  it('sends the rotation token with a pending version written inside a native rotation', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    const value = { password: 'pw-Value-1!', provider: 'ncloud-cdss', region: 'KR', clusterId: '1' };
    expect(await store.putPending(NAME, 'version-token-1', value, 'rotation-token-1')).toBe('stored');
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      ClientRequestToken: 'version-token-1',
      SecretString: JSON.stringify(value),
      VersionStages: ['AWSPENDING'],
      RotationToken: 'rotation-token-1',
    });
  });

  it('answers "taken" when the version id already names a version with another value', async () => {
    sm.on(PutSecretValueCommand).rejects(
      new ResourceExistsException({ message: 'A version with this token exists', $metadata: {} }),
    );
    expect(
      await store.putPending(NAME, 'version-token-1', { provider: 'p', region: 'r', clusterId: 'c' }),
    ).toBe('taken');
  });

  it('reads one version by id', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"password":"pw"}' });
    expect(await store.read(NAME, 'v1')).toEqual({ password: 'pw' });
    expect(await store.readPassword(NAME, 'v1')).toBe('pw');
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      VersionId: 'v1',
    });
  });

  it('reads a version that has no value yet as undefined, and refuses it as a pending password', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'no value at this stage', $metadata: {} }),
    );
    expect(await store.read(NAME, 'empty-pending')).toBeUndefined();
    await expect(store.readPassword(NAME, 'empty-pending')).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'The pending secret version holds no password',
    });
  });

  it('refuses a version without a password (the placeholder) as a pending password', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }),
    });
    await expect(store.readPassword(NAME, 'placeholder')).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'The pending secret version holds no password',
    });
  });

  describe('when a version was created', () => {
    const at = (ms: number) => new Date(ms);
    const inputs = () => sm.commandCalls(ListSecretVersionIdsCommand).map((c) => c.args[0].input);

    it('pages through the versions with NextToken until it finds the version', async () => {
      sm.on(ListSecretVersionIdsCommand)
        .resolvesOnce({
          Versions: [{ VersionId: 'older', CreatedDate: at(1_600_000_000_000) }],
          NextToken: 'page-2',
        })
        .resolvesOnce({
          Versions: [{ VersionId: 'pending', CreatedDate: at(1_700_000_000_000) }],
          NextToken: 'page-3',
        });
      expect(await store.createdAt(NAME, 'pending')).toBe(1_700_000_000_000);
      expect(inputs()).toEqual([{ SecretId: NAME }, { SecretId: NAME, NextToken: 'page-2' }]);
    });

    it('is undefined for a version no page lists', async () => {
      sm.on(ListSecretVersionIdsCommand)
        .resolvesOnce({ Versions: [{ VersionId: 'older', CreatedDate: at(1) }], NextToken: 'page-2' })
        .resolvesOnce({ Versions: [{ VersionId: 'other', CreatedDate: at(2) }] });
      expect(await store.createdAt(NAME, 'pending')).toBeUndefined();
      expect(inputs()).toEqual([{ SecretId: NAME }, { SecretId: NAME, NextToken: 'page-2' }]);
    });
  });

  describe('labels', () => {
    const inputs = () => sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
    beforeEach(() => sm.on(UpdateSecretVersionStageCommand).resolves({}));

    it('moves AWSPENDING back to a version from the version that has it', async () => {
      await store.relabelPending(NAME, 'mine', 'another');
      expect(inputs()).toEqual([
        {
          SecretId: NAME,
          VersionStage: 'AWSPENDING',
          MoveToVersionId: 'mine',
          RemoveFromVersionId: 'another',
        },
      ]);
    });

    it.each([
      ['no version has it', undefined],
      ['the version already has it', 'mine'],
    ])('labels a version AWSPENDING, removing it from none when %s', async (_, pending) => {
      await store.relabelPending(NAME, 'mine', pending);
      expect(inputs()).toEqual([{ SecretId: NAME, VersionStage: 'AWSPENDING', MoveToVersionId: 'mine' }]);
    });

    it('discards a pending version by removing its AWSPENDING label', async () => {
      await store.removePending(NAME, 'refused');
      expect(inputs()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'refused' },
      ]);
    });

    it('promotes a version when no version is current: AWSCURRENT is removed from none', async () => {
      await store.promote(NAME, 'new-version', undefined);
      expect(inputs()).toEqual([
        { SecretId: NAME, VersionStage: 'AWSCURRENT', MoveToVersionId: 'new-version' },
        { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'new-version' },
      ]);
    });
  });

  it('promotes: AWSCURRENT moves from the old version, then AWSPENDING is removed', async () => {
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    await store.promote(NAME, 'new-version', 'old-version');
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      {
        SecretId: NAME,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: 'new-version',
        RemoveFromVersionId: 'old-version',
      },
      { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'new-version' },
    ]);
  });

  it('does not move AWSCURRENT onto the version that already has it', async () => {
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    await store.promote(NAME, 'v', 'v');
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: 'v' },
    ]);
  });

  it('maps a Secrets Manager failure to SECRET_STORE_FAILED with the exception name only', async () => {
    const denied = Object.assign(new Error('User arn:aws:iam::1:role/x is not authorized'), {
      name: 'AccessDeniedException',
    });
    sm.on(PutSecretValueCommand).rejects(denied);
    await expect(
      store.putPending(NAME, 'v', { provider: 'p', region: 'r', clusterId: 'c' }),
    ).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      retryable: true,
      message: 'Secrets Manager PutSecretValue failed (AccessDeniedException)',
    });
  });

  describe('maps any other failure to SECRET_STORE_FAILED naming the operation, the SDK exception as its cause', () => {
    const denied = Object.assign(new Error('User arn:aws:iam::1:role/x is not authorized'), {
      name: 'AccessDeniedException',
    });
    const value = { provider: 'p', region: 'r', clusterId: 'c' };
    it.each([
      ['DescribeSecret', () => store.describe(NAME)],
      ['CreateSecret', () => store.create(NAME, target, 't'.repeat(32), 'default')],
      ['GetSecretValue', () => store.read(NAME, 'v1')],
      ['ListSecretVersionIds', () => store.createdAt(NAME, 'v1')],
      ['PutSecretValue', () => store.putPending(NAME, 'v1', value)],
      ['UpdateSecretVersionStage', () => store.relabelPending(NAME, 'v1', 'v0')],
      ['UpdateSecretVersionStage', () => store.removePending(NAME, 'v1')],
      ['UpdateSecretVersionStage', () => store.promote(NAME, 'v1', 'v0')],
    ])('%s (%#)', async (operation, call: () => Promise<unknown>) => {
      sm.onAnyCommand().rejects(denied);
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResetError);
      expect(error).toMatchObject({
        code: 'SECRET_STORE_FAILED',
        retryable: true,
        message: `Secrets Manager ${operation} failed (AccessDeniedException)`,
      });
      expect((error as Error).cause).toBe(denied);
    });

    it('names a failure that is not an Error "unknown error"', async () => {
      sm.on(DescribeSecretCommand).callsFake(() => Promise.reject('socket hang up'));
      await expect(store.describe(NAME)).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'Secrets Manager DescribeSecret failed (unknown error)',
        cause: 'socket hang up',
      });
    });
  });
});
