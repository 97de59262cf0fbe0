import { validationFailed } from '../errors.ts';
import { type ResetMiddleware, ResetRequest } from './invocation.ts';

export interface ClusterAllowListOptions {
  provider: string;
  /** The stage's ALLOWED_CLUSTERS; absent: every cluster the stage's credentials reach. */
  allowed: readonly RegExp[] | undefined;
}

/**
 * Keeps a stage to its own clusters: a request (or a rotation) for a cluster outside the stage's
 * allow-list is refused before anything is read from SSM or sent, even when two stages' credentials
 * hold the same provider keys (their leases do not see each other).
 */
export const clusterAllowList = (options: ClusterAllowListOptions): ResetMiddleware => ({
  before: (request) => {
    const event = request.event as unknown;
    if (!options.allowed || !(event instanceof ResetRequest)) return;
    const { region, clusterId } = event.envelope;
    const cluster = `${options.provider}/${region}/${clusterId}`;
    if (!options.allowed.some((pattern) => pattern.test(cluster))) {
      throw validationFailed([
        { field: 'clusterId', rule: "is not one of this stage's allowed clusters (allowedClusters)" },
      ]);
    }
  },
});
