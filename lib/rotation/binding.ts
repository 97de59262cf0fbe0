import { ResetError, validationFailed } from '../errors.ts';
import type { Target } from '../providers/types.ts';
import type { Item, RecordTable } from './record-table.ts';
import type { SecretState } from './secret-store.ts';

// Which secret holds a cluster's password, and with which credentials account the cluster is
// rotated: fixed once, by the functions, in the lease table (only the functions' roles write it,
// under their provider's keys). A secret's tags are labels anyone with TagResource can change; they
// never choose a cluster or an account. One record per cluster, written once with a conditional
// put; moving a cluster to another account is an operator's explicit act (scripts/bind.ts).

export interface Binding {
  secretName: string;
  /** The secret's ARN when it was bound: a secret deleted and created again under the name has another. */
  secretArn?: string;
  account: string;
  /** The cluster's project (OTC, Huawei Cloud), when the rotation that bound it named one. */
  projectId?: string;
}

export const bindingKeyOf = (target: Pick<Target, 'provider' | 'region' | 'clusterId'>): string =>
  `binding#${target.provider}#${target.region}#${target.clusterId}`;

const bindingOf = (item: Item | undefined): Binding | undefined => {
  const secretName = item?.secretName?.S;
  const account = item?.account?.S;
  if (secretName === undefined || account === undefined) return undefined;
  return {
    secretName,
    ...(item?.secretArn?.S === undefined ? {} : { secretArn: item.secretArn.S }),
    account,
    ...(item?.projectId?.S === undefined ? {} : { projectId: item.projectId.S }),
  };
};

const itemOf = (binding: Binding): Item => ({
  secretName: { S: binding.secretName },
  ...(binding.secretArn === undefined ? {} : { secretArn: { S: binding.secretArn } }),
  account: { S: binding.account },
  ...(binding.projectId === undefined ? {} : { projectId: { S: binding.projectId } }),
});

/** Why a request's secret or account is not the cluster's bound one, as VALIDATION_FAILED. */
export const bindingMismatch = (binding: Binding, wanted: Partial<Binding>): ResetError | undefined => {
  if (wanted.secretName !== undefined && wanted.secretName !== binding.secretName) {
    return validationFailed([
      {
        field: 'secretId',
        rule: `names another secret than the cluster's own (${binding.secretName}); a cluster's password is kept in one secret`,
      },
    ]);
  }
  if (wanted.account !== undefined && wanted.account !== binding.account) {
    return validationFailed([
      {
        field: 'account',
        rule: `is not the account the cluster is bound to ("${binding.account}"); an operator moves a cluster with npm run bind`,
      },
    ]);
  }
  if (
    wanted.projectId !== undefined &&
    binding.projectId !== undefined &&
    wanted.projectId !== binding.projectId
  ) {
    return validationFailed([
      { field: 'projectId', rule: `is not the project the cluster is bound to ("${binding.projectId}")` },
    ]);
  }
  return undefined;
};

/**
 * Why the secret found under a bound cluster's name is not its bound secret: it was deleted since
 * the cluster was bound (a binding is written only once its secret exists), or created again (its
 * ARN is another; a binding an operator wrote without an ARN takes the secret as it is).
 */
export const boundSecretGone = (
  binding: Binding,
  secret: SecretState | undefined,
): ResetError | undefined => {
  if (secret && (binding.secretArn === undefined || secret.arn === binding.secretArn)) return undefined;
  const what = secret ? 'a secret created again' : 'a secret deleted';
  return validationFailed([
    {
      field: 'secretId',
      rule: `names ${what} since the cluster was bound to it; an operator unbinds the cluster (npm run bind -- --unbind) and its next rotation binds it afresh`,
    },
  ]);
};

/** A secret name that is not the cluster's own, for a cluster no rotation has bound yet. */
export const notTheClusterSecret = (defaultName: string): ResetError =>
  validationFailed([
    {
      field: 'secretId',
      rule: `names another secret than the cluster's own (${defaultName}); a secret an earlier release created under another name is bound by an operator (npm run bind -- --secret)`,
    },
  ]);

export class Bindings {
  readonly #table: RecordTable;

  constructor(table: RecordTable) {
    this.#table = table;
  }

  async read(target: Pick<Target, 'provider' | 'region' | 'clusterId'>): Promise<Binding | undefined> {
    return bindingOf(await this.#table.get(bindingKeyOf(target)));
  }

  /**
   * Binds the cluster to a secret and an account, once. Answers the binding as it is afterwards:
   * ours, or the one a concurrent rotation (or our own write, retried by the SDK) wrote first.
   */
  async bind(target: Pick<Target, 'provider' | 'region' | 'clusterId'>, binding: Binding): Promise<Binding> {
    const key = bindingKeyOf(target);
    await this.#table.put(key, itemOf(binding), { expression: 'attribute_not_exists(pk)' });
    const bound = bindingOf(await this.#table.get(key));
    if (!bound)
      throw new ResetError('SECRET_STORE_FAILED', 'The cluster could not be bound to its secret; retry');
    return bound;
  }

  /**
   * An operator unbinds a cluster whose bound secret was deleted or created again: the binding is
   * deleted if it names `account`, and the cluster's next rotation binds it afresh. Answers whether
   * the cluster is unbound afterwards, read back: a delete the SDK retried after it was applied
   * fails its condition on the item it already removed.
   */
  async unbind(target: Pick<Target, 'provider' | 'region' | 'clusterId'>, account: string): Promise<boolean> {
    await this.#table.delete(bindingKeyOf(target), {
      expression: 'account = :account',
      values: { ':account': { S: account } },
    });
    return (await this.read(target)) === undefined;
  }

  /** An operator moves a bound cluster to another credentials account. */
  async moveAccount(
    target: Pick<Target, 'provider' | 'region' | 'clusterId'>,
    from: string,
    to: string,
  ): Promise<boolean> {
    return this.#table.update(
      bindingKeyOf(target),
      { set: { account: { S: to } } },
      { expression: 'account = :from', values: { ':from': { S: from } } },
    );
  }
}
