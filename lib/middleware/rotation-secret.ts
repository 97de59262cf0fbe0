import { definedOnly } from '../defined.ts';
import { validationFailed } from '../errors.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import type { Bindings } from '../rotation/binding.ts';
import type { SecretStore } from '../rotation/secret-store.ts';
import type { ResetMiddleware } from './invocation.ts';

export interface RotationSecretOptions<C> {
  provider: ProviderDefinition<C>;
  secrets: SecretStore;
  bindings: Bindings;
  /** SECRET_PREFIX: a cluster's secret is `{prefix}/{provider}/{region}/{clusterId}`. */
  secretPrefix: string;
}

const refuse = (rule: string): never => {
  throw validationFailed([{ field: 'SecretId', rule }]);
};

/**
 * Rotation mode only: a rotation event names a secret and nothing else. The cluster comes from the
 * secret's immutable name, and the credentials account from the cluster's binding (written by the
 * functions when they created the secret, or at its first rotation by a request): never from its
 * tags, which anyone with TagResource may change. A secret whose name is not a cluster's, one of
 * another provider, one no rotation has bound, or one with rotation turned off is refused before
 * anything is read from SSM or sent. The fields then go through validation like any caller's.
 */
export const rotationSecret = <C>(options: RotationSecretOptions<C>): ResetMiddleware => {
  const root = `${options.secretPrefix}/`;
  return {
    before: async (request) => {
      const { rotation } = request.internal;
      if (request.internal.mode !== 'rotation' || rotation === undefined) return;
      const secret = await options.secrets.describe(rotation.secretId);
      if (!secret) return refuse('names no secret');
      const path = secret.name.startsWith(root) ? secret.name.slice(root.length).split('/') : [];
      const [provider, region, clusterId] = path;
      if (path.length !== 3 || !provider || !region || !clusterId)
        refuse(
          `names no cluster's secret: a cluster's secret is named ${root}{provider}/{region}/{clusterId}`,
        );
      if (provider !== options.provider.id)
        refuse(
          `names a secret of provider "${provider}"; this function rotates ${options.provider.id} secrets only`,
        );
      if (!secret.rotationEnabled) refuse('has rotation turned off');
      const binding = await options.bindings.read({
        provider: options.provider.id,
        region: region ?? '',
        clusterId: clusterId ?? '',
      });
      if (!binding || binding.secretName !== secret.name) {
        refuse(
          'is not bound to its cluster: a rotation by a request (HTTP, EventBridge or Step Functions) binds it, or an operator with npm run bind',
        );
      }
      if (binding?.secretArn !== undefined && binding.secretArn !== secret.arn) {
        refuse(
          'was created again since its cluster was bound to it; an operator unbinds the cluster (npm run bind -- --unbind) and its next rotation by a request binds it afresh',
        );
      }
      request.internal.input = definedOnly({
        provider: options.provider.id,
        region,
        clusterId,
        projectId: binding?.projectId,
        account: binding?.account,
        secretId: secret.name,
        // The token names this rotation, as an idempotency key names a request.
        idempotencyKey: rotation.token,
      });
    },
  };
};
