import type { InjectedFault } from '../../sandbox/http-util.ts';
import type { Sandbox } from '../../sandbox/server.ts';
import { ncloudHttpEvent } from '../support/events.ts';

// What the provider-agnostic integration suite needs to know of one provider and its simulator.

export const CREDENTIALS_PREFIX = '/cluster-password-reset/itest/credentials';

export interface ProviderCall {
  operation: string;
  clusterId?: string;
  status: number;
}

export interface ProviderHarness {
  id: string;
  operation: string;
  region: string;
  credentialsFolder: string;
  loadHandler(): Promise<(event: unknown, context: unknown) => Promise<unknown>>;
  newClusterId(): string;
  addCluster(clusterId: string, options: { password: string; busy?: boolean }): void;
  clusterPassword(clusterId: string): string | undefined;
  calls(clusterId: string, operation?: 'state' | 'reset'): ProviderCall[];
  /** Every request the simulator received, for "nothing reached the provider" checks. */
  allCalls(): ProviderCall[];
  addFault(fault: InjectedFault): void;
  /** Registers keys with the simulator and returns the SSM credential value for them. */
  registerKeys(accessKey: string, secretKey: string): Record<string, unknown>;
  httpEvent(clusterId: string, body?: unknown, headers?: Record<string, string>): unknown;
  /** An invalid cluster id as it might arrive in a path. */
  badClusterId: string;
  validPassword: string;
  /** Answers of the provider's reset call and the code each must map to. */
  resetAnswers: Array<{
    name: string;
    fault: Omit<InjectedFault, 'operation' | 'clusterId'>;
    code: string;
    status: number;
  }>;
  /** Cluster states (simulator-specific) that must stop a reset before it is sent. */
  blockingStates: Array<{ name: string; apply(clusterId: string): void; code: string; status: number }>;
}

let nextNcloudId = 2_000_000;

export const ncloudHarness = (sandbox: Sandbox): ProviderHarness => ({
  id: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  region: 'KR',
  credentialsFolder: 'ncloud',
  loadHandler: async () =>
    (await import('../../functions/ncloud-cdss-reset-cmak-password.ts')).handler as never,
  newClusterId: () => String(nextNcloudId++),
  addCluster: (clusterId, { password, busy }) => {
    sandbox.ncloud.addCluster({
      region: 'KR',
      serviceGroupInstanceNo: clusterId,
      password,
      status: busy ? 'changing' : 'running',
    });
  },
  clusterPassword: (clusterId) => sandbox.ncloud.cluster('KR', clusterId)?.password,
  calls: (clusterId, operation) =>
    sandbox.ncloud.calls.filter(
      (c) => c.clusterId === clusterId && (!operation || c.operation === operation),
    ),
  allCalls: () => sandbox.ncloud.calls,
  addFault: (fault) => sandbox.ncloud.faults.add(fault),
  registerKeys: (accessKey, secretKey) => {
    sandbox.ncloud.addKey(accessKey, secretKey);
    return { accessKey, secretKey };
  },
  httpEvent: (clusterId, body, headers) => ncloudHttpEvent('KR', clusterId, body, headers),
  badClusterId: '..%2F1009123',
  validPassword: 'Supplied-pw1!',
  resetAnswers: [
    {
      name: 'HTTP 200 with result: null',
      fault: { status: 200, body: { code: 1200, message: 'FAIL', result: null, requestId: 'r' } },
      code: 'PROVIDER_REJECTED',
      status: 422,
    },
    {
      name: 'HTTP 400',
      fault: { status: 400, body: { error: { errorCode: '100', message: 'Bad Request' } } },
      code: 'PROVIDER_REJECTED',
      status: 422,
    },
    {
      name: 'HTTP 409',
      fault: { status: 409, body: { error: { errorCode: 1001, message: 'busy' } } },
      code: 'CLUSTER_STATE_CONFLICT',
      status: 409,
    },
    {
      name: 'HTTP 429',
      fault: { status: 429, body: { error: { errorCode: '400', message: 'Quota Exceeded' } } },
      code: 'PROVIDER_THROTTLED',
      status: 429,
    },
    {
      name: 'HTTP 502 text/plain',
      fault: { status: 502, text: 'Bad Gateway' },
      code: 'PROVIDER_UNAVAILABLE',
      status: 503,
    },
    { name: 'a dropped connection', fault: { drop: true }, code: 'PROVIDER_UNAVAILABLE', status: 503 },
    {
      name: 'no answer in time',
      fault: { delayMs: 1500, status: 200 },
      code: 'PROVIDER_UNAVAILABLE',
      status: 503,
    },
  ],
  blockingStates: [
    {
      name: 'changing',
      apply: (clusterId) => {
        const cluster = sandbox.ncloud.cluster('KR', clusterId);
        if (cluster) cluster.status = 'changing';
      },
      code: 'CLUSTER_STATE_CONFLICT',
      status: 409,
    },
  ],
});
