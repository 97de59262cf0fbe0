import { ResetError } from '../../errors.ts';
import { type ProviderResponse, sendProviderRequest, timeoutWithin } from '../http.ts';
import { pollUntilSettled } from '../poll.ts';
import { field, providerErrorDetails } from '../response-fields.ts';
import type { ClientOptions, ClusterFacts, ClusterState, ProviderClient } from '../types.ts';
import type { NcloudCredentials } from './credentials.ts';
import { clusterInfoPath, resetPasswordPath } from './endpoints.ts';
import { ncloudError, ncloudErrorCode, ncloudRequestId } from './errors.ts';
import { ncloudSettings } from './settings.ts';
import { NCLOUD_SIGNED_HEADERS, ncloudAuthHeaders } from './signer.ts';

const PROVIDER_NAME = 'Naver Cloud';
// getClusterInfoList's cluster `status`, in the words the result uses for every provider.
// `deleting` is a transition like the others, not yet a failure; `return` is a cluster given
// back, as unusable as one in `error`. A status Naver adds later is taken for a transition, so
// that it is reported as not ready without being called broken.
// https://api.ncloud-docs.com/docs/en/analytics-clouddatastreamingservice-cluster-getclusterinfo
const NEUTRAL_STATES: ReadonlyMap<string, ClusterState> = new Map([
  ['running', 'ready'],
  ['creating', 'changing'],
  ['changing', 'changing'],
  ['deleting', 'changing'],
  ['error', 'error'],
  ['return', 'error'],
]);

const neutralClusterState = (status: string): ClusterState => NEUTRAL_STATES.get(status) ?? 'changing';

const resultOf = (response: ProviderResponse): unknown =>
  response.json !== null && typeof response.json === 'object'
    ? (response.json as Record<string, unknown>).result
    : undefined;

export const createNcloudClient = ({
  credentials,
  target,
  config,
  deadline,
}: ClientOptions<NcloudCredentials>): ProviderClient => {
  const { site, resetApi, endpoint } = ncloudSettings(config);
  const resetPath = resetPasswordPath(site, resetApi, target.region, target.clusterId);
  const statePath = clusterInfoPath(site, target.region, target.clusterId);

  const signedRequest = (path: string, body: string) => {
    const headers = {
      ...ncloudAuthHeaders({
        method: 'POST',
        requestUri: path,
        timestamp: Date.now(),
        accessKey: credentials.accessKey,
        secretKey: credentials.secretKey,
      }),
      'content-type': 'application/json',
      accept: 'application/json',
    };
    return { method: 'POST', url: `${endpoint}${path}`, headers, body };
  };

  const send = (path: string, body: string, until = deadline) =>
    sendProviderRequest(PROVIDER_NAME, {
      ...signedRequest(path, body),
      timeoutMs: timeoutWithin(config.providerTimeoutMs, until),
    });

  // getClusterInfoList answers the cluster's `status` and the manager account's name.
  // https://api.ncloud-docs.com/docs/en/analytics-clouddatastreamingservice-cluster-getclusterinfo
  const clusterInfo = async (until = deadline): Promise<{ status: string; username?: string }> => {
    const response = await send(statePath, '{}', until);
    const result = resultOf(response);
    const status = field(result, 'status');
    if (response.status !== 200 || typeof status !== 'string') {
      throw ncloudError(response, [credentials.secretKey]);
    }
    const username = field(result, 'kafkaManagerUserName');
    return typeof username === 'string' && username !== ''
      ? { status: status.toLowerCase(), username }
      : { status: status.toLowerCase() };
  };

  return {
    async assertReady(): Promise<ClusterFacts> {
      const { status, username } = await clusterInfo();
      if (neutralClusterState(status) !== 'ready') {
        throw new ResetError(
          'CLUSTER_STATE_CONFLICT',
          `The cluster is ${status}; its CMAK password can be reset only while it is running`,
        );
      }
      return username === undefined ? {} : { username };
    },

    prepareReset(password) {
      const request = signedRequest(resetPath, JSON.stringify({ kafkaManagerUserPassword: password }));
      return { method: request.method, url: request.url, signedHeaders: NCLOUD_SIGNED_HEADERS };
    },

    async reset(password) {
      const response = await send(resetPath, JSON.stringify({ kafkaManagerUserPassword: password }));
      // Success is HTTP 200 *and* result === true; `result: null` on HTTP 200 is a failure.
      if (response.status === 404) {
        // The cluster was found a moment ago, so a 404 here most likely means this account does
        // not offer the configured reset API (Naver retired resetCMAKPassword).
        throw new ResetError(
          'PROVIDER_REJECTED',
          `Naver Cloud answered HTTP 404 to ${resetApi}: the reset API is not available to this account (see NCLOUD_CDSS_RESET_API)`,
          providerErrorDetails(response, ncloudErrorCode(response, [password, credentials.secretKey])),
        );
      }
      if (response.status !== 200 || resultOf(response) !== true) {
        throw ncloudError(response, [password, credentials.secretKey]);
      }
      const providerRequestId = ncloudRequestId(response);
      return providerRequestId === undefined ? {} : { providerRequestId };
    },

    // Naver's own Terraform provider waits for `running` again after a reset; so do we, within
    // the time the function has left. The reset was accepted either way: a cluster still
    // `changing` at the deadline is reported, not treated as a failure.
    awaitSettled(until) {
      return pollUntilSettled({
        read: async (end) => neutralClusterState((await clusterInfo(end)).status),
        isSettled: (state) => state === 'ready',
        until,
        deadline,
        intervalMs: config.statePollIntervalMs,
      });
    },
  };
};
