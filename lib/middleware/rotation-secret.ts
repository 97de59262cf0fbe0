import { definedOnly } from '../defined.ts';
import { validationFailed } from '../errors.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import { ACCOUNT_TAG, MANAGED_BY, type SecretStore } from '../rotation/secret-store.ts';
import type { ResetMiddleware } from './invocation.ts';

export interface RotationSecretOptions<C> {
  provider: ProviderDefinition<C>;
  secrets: SecretStore;
}

const refuse = (rule: string): never => {
  throw validationFailed([{ field: 'SecretId', rule }]);
};

/**
 * Rotation mode only: a rotation event names a secret and nothing else, so the cluster comes from
 * the secret's identity tags (and the credentials account from its `account` tag). A secret this
 * project did not create, one of another provider, or one with rotation turned off is refused
 * before anything is read or sent. The fields then go through validation like any caller's.
 */
export const rotationSecret = <C>(options: RotationSecretOptions<C>): ResetMiddleware => ({
  before: async (request) => {
    const { rotation } = request.internal;
    if (request.internal.mode !== 'rotation' || rotation === undefined) return;
    const secret = await options.secrets.describe(rotation.secretId);
    if (!secret) return refuse('names no secret');
    const { tags } = secret;
    if (tags[MANAGED_BY.Key] !== MANAGED_BY.Value)
      refuse('names a secret this project did not create (it has no identity tags)');
    if (tags.provider !== options.provider.id) {
      refuse(
        `names a secret of provider "${tags.provider ?? '(none)'}"; this function rotates ${options.provider.id} secrets only`,
      );
    }
    if (!secret.rotationEnabled) refuse('has rotation turned off');
    request.internal.input = definedOnly({
      provider: options.provider.id,
      region: tags.region,
      clusterId: tags['cluster-id'],
      projectId: tags['project-id'],
      account: tags[ACCOUNT_TAG],
      secretId: secret.name,
      // The token names this rotation, as an idempotency key names a request.
      idempotencyKey: rotation.token,
    });
  },
});
