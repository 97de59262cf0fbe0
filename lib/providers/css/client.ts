import { ResetError, validationFailed } from '../../errors.ts';
import { redactSecrets } from '../../redact.ts';
import { type ProviderResponse, sendProviderRequest, timeoutWithin } from '../http.ts';
import { pollUntilSettled } from '../poll.ts';
import { field } from '../response-fields.ts';
import type { ClientOptions, ClusterState, ProviderClient } from '../types.ts';
import type { CssCloud } from './cloud.ts';
import type { CssCredentials } from './credentials.ts';
import { clusterPath, cssBaseUrl, resetPasswordPath } from './endpoints.ts';
import { cssError, cssRequestId } from './errors.ts';
import { signCssRequest } from './signer.ts';

// CSS cluster `status`: "100" an operation in progress, "200" available, "303" unavailable.
// `actions` lists the operations running on it; a password can be reset only when it is
// available with nothing running, and only in security mode (`authorityEnable`).
const STATUS_NAMES: Readonly<Record<string, string>> = {
  '100': 'busy with an operation',
  '200': 'available',
  '303': 'unavailable',
};

interface CssCluster {
  status: string;
  actions: string[];
  securityMode: boolean;
}

const readCluster = (response: ProviderResponse): CssCluster | undefined => {
  const status = field(response.json, 'status');
  if (typeof status !== 'string' && typeof status !== 'number') return undefined;
  const actions = field(response.json, 'actions');
  const authority = field(response.json, 'authorityEnable');
  return {
    status: String(status),
    actions: Array.isArray(actions) ? actions.map(String) : [],
    securityMode: authority === true || authority === 'true',
  };
};

// The cluster in the words the result uses for every provider. "200" with actions still running
// is not ready: a reset puts RESET_PASSWORD in `actions` while the status stays "200". A status
// CSS adds later is taken for a transition, so that it is reported as not ready without being
// called broken.
// https://docs.otc.t-systems.com/cloud-search-service/api-ref/ (Querying Cluster Details: `status`, `actions`)
const NEUTRAL_STATES: ReadonlyMap<string, ClusterState> = new Map([
  ['100', 'changing'],
  ['200', 'ready'],
  ['303', 'error'],
]);

const neutralClusterState = (cluster: Pick<CssCluster, 'status' | 'actions'>): ClusterState => {
  const state = NEUTRAL_STATES.get(cluster.status) ?? 'changing';
  return state === 'ready' && cluster.actions.length > 0 ? 'changing' : state;
};

/** The CSS client of one cloud. */
export const createCssClient =
  (cloud: CssCloud) =>
  ({ credentials, target, config, deadline }: ClientOptions<CssCredentials>): ProviderClient => {
    const projectId = target.projectId;
    // completeTarget() has filled it in by now; a client without it could only sign a wrong URL.
    if (projectId === undefined) throw validationFailed([{ field: 'projectId', rule: 'is required' }]);
    const baseUrl = cssBaseUrl(cloud, config, target.region);
    const statePath = clusterPath(projectId, target.clusterId);
    const resetPath = resetPasswordPath(projectId, target.clusterId);
    // Text from the provider that ends up in our messages.
    const foreign = (text: string) => redactSecrets(text, [credentials.secretKey]);

    const signedRequest = (method: 'GET' | 'POST', path: string, body: string | undefined) => {
      const url = `${baseUrl}${path}`;
      const headers = {
        'content-type': 'application/json',
        'x-project-id': projectId,
        // Sent explicitly so that what is signed is what is sent.
        host: new URL(url).host,
      };
      const signature = signCssRequest({
        method,
        url,
        headers,
        body,
        accessKey: credentials.accessKey,
        secretKey: credentials.secretKey,
        date: new Date(),
      });
      return {
        method,
        url,
        headers: { ...headers, ...signature.headers },
        body,
        signedHeaders: signature.signedHeaders,
      };
    };

    const send = (method: 'GET' | 'POST', path: string, body: string | undefined, until: number) => {
      const { signedHeaders: _, ...request } = signedRequest(method, path, body);
      return sendProviderRequest(cloud.name, {
        ...request,
        timeoutMs: timeoutWithin(config.providerTimeoutMs, until),
      });
    };

    const queryCluster = async (until: number): Promise<CssCluster> => {
      const response = await send('GET', statePath, undefined, until);
      if (response.status !== 200) throw cssError(response, [credentials.secretKey], cloud.name);
      const cluster = readCluster(response);
      if (!cluster) {
        throw new ResetError(
          'PROVIDER_UNAVAILABLE',
          `${cloud.name} answered the cluster query without a cluster status`,
          { providerStatus: response.status },
        );
      }
      return cluster;
    };

    const newPasswordBody = (password: string) => JSON.stringify({ newpassword: password });

    return {
      async assertReady() {
        const state = await queryCluster(deadline);
        if (neutralClusterState(state) !== 'ready') {
          const name = STATUS_NAMES[state.status] ?? 'in an unknown state';
          const running = state.actions.length > 0 ? `, running ${state.actions.join(', ')}` : '';
          throw new ResetError(
            'CLUSTER_STATE_CONFLICT',
            foreign(
              `The cluster is ${name} (status ${state.status}${running}); ` +
                'its admin password can be changed only while it is available and idle',
            ),
          );
        }
        if (!state.securityMode) {
          throw new ResetError(
            'PRECONDITION_FAILED',
            'The cluster is not in security mode (authorityEnable is off): it has no admin password to change',
          );
        }
        // The reset API changes the password of the security-mode user `admin`, always.
        return { username: 'admin' };
      },

      prepareReset(password) {
        const request = signedRequest('POST', resetPath, newPasswordBody(password));
        return { method: request.method, url: request.url, signedHeaders: request.signedHeaders };
      },

      async reset(password) {
        const response = await send('POST', resetPath, newPasswordBody(password), deadline);
        // Only 200 is a success: CSS answers 202 with CSS.0011 when another operation is running.
        if (response.status !== 200) throw cssError(response, [password, credentials.secretKey], cloud.name);
        const providerRequestId = cssRequestId(response);
        return providerRequestId === undefined ? {} : { providerRequestId };
      },

      // The reset was accepted: whatever happens here is reported, never thrown.
      awaitSettled(until) {
        return pollUntilSettled({
          read: async (end) => neutralClusterState(await queryCluster(end)),
          isSettled: (state) => state === 'ready',
          until,
          deadline,
          intervalMs: config.statePollIntervalMs,
        });
      },
    };
  };
