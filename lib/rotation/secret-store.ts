import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { ResetError } from '../errors.ts';
import type { Target } from '../providers/types.ts';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';

/** The JSON value of one secret version. The placeholder first version has no password. */
export interface StoredPassword {
  password?: string;
  /** The account the password belongs to, where the provider names it. */
  username?: string;
  provider: string;
  region: string;
  clusterId: string;
  rotatedAt?: string;
}

export interface SecretState {
  arn: string;
  /** The secret's name: what the project's records are keyed by, whichever id a caller used. */
  name: string;
  /** Whether Secrets Manager rotation is turned on (a rotation function is configured). */
  rotationEnabled: boolean;
  /** versionId → staging labels (versions without a label are not listed) */
  versions: Map<string, string[]>;
  tags: Record<string, string>;
}

export const MANAGED_BY = { Key: 'managed-by', Value: 'cluster-password-reset' } as const;

/**
 * Not part of the identity: the credentials account the secret was created with, which Secrets
 * Manager's own rotation uses (its event names only the secret). An operator may change it.
 */
export const ACCOUNT_TAG = 'account';

/** The identity tags every secret the project writes carries, set when it is created. */
export const identityTags = (target: Target): Record<string, string> => ({
  [MANAGED_BY.Key]: MANAGED_BY.Value,
  provider: target.provider,
  region: target.region,
  'cluster-id': target.clusterId,
  ...(target.projectId === undefined ? {} : { 'project-id': target.projectId }),
});

/** Why a secret is not this cluster's, or undefined when its identity tags name the cluster. */
export const identityMismatch = (state: SecretState, target: Target): string | undefined => {
  const expected = identityTags(target);
  if (state.tags[MANAGED_BY.Key] !== MANAGED_BY.Value)
    return 'names a secret this project did not create (it has no identity tags)';
  const differing = Object.keys(expected).filter((key) => state.tags[key] !== expected[key]);
  return differing.length === 0
    ? undefined
    : `names the secret of another cluster (its ${differing.join(', ')} differ)`;
};

/** A new pending version's value: the password, and what a consumer needs to use it as it is. */
export const passwordValue = (
  target: Target,
  password: string,
  username: string | undefined,
): StoredPassword => ({
  password,
  ...(username === undefined ? {} : { username }),
  provider: target.provider,
  region: target.region,
  clusterId: target.clusterId,
  rotatedAt: new Date().toISOString(),
});

export const defaultSecretName = (prefix: string, target: Target): string =>
  `${prefix}/${target.provider}/${target.region}/${target.clusterId}`;

export const versionWithStage = (state: SecretState, stage: string): string | undefined =>
  [...state.versions].find(([, stages]) => stages.includes(stage))?.[0];

// The SDK's messages name secrets, never values; still, only the exception's name is passed on.
const storeFailed = (operation: string, error: unknown): ResetError =>
  new ResetError(
    'SECRET_STORE_FAILED',
    `Secrets Manager ${operation} failed (${error instanceof Error ? error.name : 'unknown error'})`,
    { cause: error },
  );

export interface SecretStoreOptions {
  /** KMS key of the secrets this store creates (SECRETS_KMS_KEY_ID); absent: Secrets Manager's default key. */
  kmsKeyId?: string;
}

/** The few Secrets Manager operations of the rotation protocol, with errors mapped. */
export class SecretStore {
  readonly #client: SecretsManagerClient;
  readonly #kmsKeyId: string | undefined;

  constructor(client: SecretsManagerClient, options: SecretStoreOptions = {}) {
    this.#client = client;
    this.#kmsKeyId = options.kmsKeyId;
  }

  async describe(secretId: string): Promise<SecretState | undefined> {
    try {
      const answer = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        arn: answer.ARN ?? secretId,
        name: answer.Name ?? secretId,
        rotationEnabled: answer.RotationEnabled === true,
        versions: new Map(Object.entries(answer.VersionIdsToStages ?? {})),
        tags: Object.fromEntries((answer.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
      };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw storeFailed('DescribeSecret', error);
    }
  }

  /**
   * Creates the secret with its identity tags; one created meanwhile is used as it is (the caller
   * checks its tags). Secrets Manager labels a secret's first version AWSCURRENT
   * whatever we ask, so a new secret starts with a placeholder that holds no password: AWSCURRENT
   * never holds a password the provider has not accepted. With a KMS key configured the secret is
   * created under it (every later version is encrypted with the secret's key).
   */
  async create(
    name: string,
    target: Target,
    placeholderToken: string,
    account: string,
  ): Promise<SecretState> {
    const placeholder: StoredPassword = {
      provider: target.provider,
      region: target.region,
      clusterId: target.clusterId,
    };
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: name,
          Description: `Admin password of ${target.provider} cluster ${target.clusterId} in ${target.region}, kept by cluster-password-reset`,
          SecretString: JSON.stringify(placeholder),
          ClientRequestToken: placeholderToken,
          ...(this.#kmsKeyId === undefined ? {} : { KmsKeyId: this.#kmsKeyId }),
          Tags: Object.entries({ ...identityTags(target), [ACCOUNT_TAG]: account }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
    } catch (error) {
      // Another rotation created it between our describe and create: use theirs.
      if (!(error instanceof ResourceExistsException)) throw storeFailed('CreateSecret', error);
    }
    const created = await this.describe(name);
    if (!created) throw storeFailed('DescribeSecret', new Error('secret missing after creation'));
    return created;
  }

  /**
   * A version's value; undefined for a version that has none yet (the empty AWSPENDING version
   * Secrets Manager labels when it starts a rotation, before createSecret fills it).
   */
  async read(secretId: string, versionId: string): Promise<StoredPassword | undefined> {
    try {
      const answer = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
      );
      return JSON.parse(answer.SecretString ?? '{}') as StoredPassword;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw storeFailed('GetSecretValue', error);
    }
  }

  /** When a version was created (epoch ms), or undefined if it is not listed. */
  async createdAt(secretId: string, versionId: string): Promise<number | undefined> {
    try {
      let nextToken: string | undefined;
      do {
        const answer = await this.#client.send(
          new ListSecretVersionIdsCommand({
            SecretId: secretId,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
        const version = answer.Versions?.find((v) => v.VersionId === versionId);
        if (version) return version.CreatedDate?.getTime();
        nextToken = answer.NextToken;
      } while (nextToken);
      return undefined;
    } catch (error) {
      throw storeFailed('ListSecretVersionIds', error);
    }
  }

  /**
   * Stores a password as the version `versionId`, labelled AWSPENDING. Inside a native rotation the
   * rotation token goes with it, so that Secrets Manager can tell the call belongs to the rotation.
   */
  async putPending(
    secretId: string,
    versionId: string,
    value: StoredPassword,
    rotationToken?: string,
  ): Promise<'stored' | 'taken'> {
    try {
      await this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: versionId,
          SecretString: JSON.stringify(value),
          VersionStages: [AWSPENDING],
          ...(rotationToken === undefined ? {} : { RotationToken: rotationToken }),
        }),
      );
      return 'stored';
    } catch (error) {
      // The version id already names a version with another value (versions are immutable); the
      // same value again, as the SDK's retry of an applied write sends it, succeeds.
      if (error instanceof ResourceExistsException) return 'taken';
      throw storeFailed('PutSecretValue', error);
    }
  }

  /** The password of a pending version, which must hold one. */
  async readPassword(secretId: string, versionId: string): Promise<string> {
    const stored = await this.read(secretId, versionId);
    if (!stored?.password)
      throw new ResetError('SECRET_STORE_FAILED', 'The pending secret version holds no password');
    return stored.password;
  }

  /** Labels a version AWSPENDING again (a same-key retry after a retryable refusal). */
  async relabelPending(
    secretId: string,
    versionId: string,
    pendingVersionId: string | undefined,
  ): Promise<void> {
    await this.#stage('UpdateSecretVersionStage', {
      SecretId: secretId,
      VersionStage: AWSPENDING,
      MoveToVersionId: versionId,
      ...(pendingVersionId === undefined || pendingVersionId === versionId
        ? {}
        : { RemoveFromVersionId: pendingVersionId }),
    });
  }

  /** Discards a pending version: the provider refused it, so it must never be sent again. */
  async removePending(secretId: string, versionId: string): Promise<void> {
    await this.#stage('UpdateSecretVersionStage', {
      SecretId: secretId,
      VersionStage: AWSPENDING,
      RemoveFromVersionId: versionId,
    });
  }

  async #stage(
    operation: string,
    input: ConstructorParameters<typeof UpdateSecretVersionStageCommand>[0],
  ): Promise<void> {
    try {
      await this.#client.send(new UpdateSecretVersionStageCommand(input));
    } catch (error) {
      throw storeFailed(operation, error);
    }
  }

  /** Moves AWSCURRENT to the version (AWSPREVIOUS follows automatically), then drops its AWSPENDING. */
  async promote(secretId: string, versionId: string, currentVersionId: string | undefined): Promise<void> {
    try {
      if (currentVersionId !== versionId) {
        const move = new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: AWSCURRENT,
          MoveToVersionId: versionId,
          ...(currentVersionId === undefined ? {} : { RemoveFromVersionId: currentVersionId }),
        });
        await this.#client.send(move);
      }
      await this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: AWSPENDING,
          RemoveFromVersionId: versionId,
        }),
      );
    } catch (error) {
      throw storeFailed('UpdateSecretVersionStage', error);
    }
  }
}
