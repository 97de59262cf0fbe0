import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
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
interface StoredPassword {
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
  /** versionId → staging labels (versions without a label are not listed) */
  versions: Map<string, string[]>;
  tags: Record<string, string>;
}

const MANAGED_BY = { Key: 'managed-by', Value: 'cluster-password-reset' } as const;

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

/** The few Secrets Manager operations of the rotation protocol, with errors mapped. */
export class SecretStore {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async describe(secretId: string): Promise<SecretState | undefined> {
    try {
      const answer = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        arn: answer.ARN ?? secretId,
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
   * never holds a password the provider has not accepted.
   */
  async create(name: string, target: Target, placeholderToken: string): Promise<SecretState> {
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
          Tags: Object.entries(identityTags(target)).map(([Key, Value]) => ({ Key, Value })),
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

  async read(secretId: string, versionId: string): Promise<StoredPassword> {
    try {
      const answer = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
      );
      return JSON.parse(answer.SecretString ?? '{}') as StoredPassword;
    } catch (error) {
      throw storeFailed('GetSecretValue', error);
    }
  }

  async putPending(secretId: string, versionId: string, value: StoredPassword): Promise<void> {
    try {
      await this.#client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: versionId,
          SecretString: JSON.stringify(value),
          VersionStages: [AWSPENDING],
        }),
      );
    } catch (error) {
      throw storeFailed('PutSecretValue', error);
    }
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
