import { type Bindings, bindingMismatch, notTheClusterSecret } from '../rotation/binding.ts';
import { type ResetMiddleware, ResetRequest } from './invocation.ts';

export interface ClusterBindingOptions {
  provider: string;
  bindings: Bindings;
  /** SECRET_PREFIX: a cluster's own secret is `{prefix}/{provider}/{region}/{clusterId}`. */
  secretPrefix: string;
}

/**
 * A request (HTTP, EventBridge, Step Functions) for a cluster that is already bound: its secret and
 * its credentials account are the binding's. A request naming another secret, or another account
 * explicitly, is refused before anything is read from SSM or sent; one that names neither gets the
 * bound ones. (An unbound cluster is bound by its first rotation that stores a password.)
 */
export const clusterBinding = (options: ClusterBindingOptions): ResetMiddleware => ({
  before: async (request) => {
    const event = request.event as unknown;
    if (!(event instanceof ResetRequest) || event.rotation !== undefined) return;
    const { envelope } = event;
    const binding = await options.bindings.read({
      provider: options.provider,
      region: envelope.region,
      clusterId: envelope.clusterId,
    });
    if (!binding) {
      // An unbound cluster's password goes to its default secret: no other name is bound by a request.
      const defaultName = `${options.secretPrefix}/${options.provider}/${envelope.region}/${envelope.clusterId}`;
      if (envelope.secretId !== undefined && envelope.secretId !== defaultName)
        throw notTheClusterSecret(defaultName);
      return;
    }
    // `account` has a default: only an account the caller named can disagree with the binding.
    const namedAccount = request.internal.input?.account !== undefined;
    const mismatch = bindingMismatch(binding, {
      ...(envelope.secretId === undefined ? {} : { secretName: envelope.secretId }),
      ...(namedAccount ? { account: envelope.account } : {}),
      ...(envelope.projectId === undefined ? {} : { projectId: envelope.projectId }),
    });
    if (mismatch) throw mismatch;
    envelope.secretId = binding.secretName;
    envelope.account = binding.account;
    if (binding.projectId !== undefined) envelope.projectId = binding.projectId;
  },
});
