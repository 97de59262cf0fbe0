import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
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

  it('uses the secret another rotation created in between', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN, VersionIdsToStages: {} });
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    expect((await store.create(NAME, target, 't'.repeat(32), 'default')).arn).toBe(ARN);
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
    await store.putPending(NAME, 'version-token-1', value);
    expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      ClientRequestToken: 'version-token-1',
      SecretString: JSON.stringify(value),
      VersionStages: ['AWSPENDING'],
    });
  });

  it('reads one version by id', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"password":"pw"}' });
    expect(await store.read(NAME, 'v1')).toEqual({ password: 'pw' });
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: NAME,
      VersionId: 'v1',
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
    expect(sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input.VersionStage)).toEqual(
      ['AWSPENDING'],
    );
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
});
