import type { InjectedFault } from '../../sandbox/http-util.ts';
import type { OtcCluster, OtcCssSimulator } from '../../sandbox/otc-css.ts';
import type { Sandbox } from '../../sandbox/server.ts';
import { ncloudHttpEvent, restApiEvent } from '../support/events.ts';

// What the provider-agnostic integration suite needs to know of one provider and its simulator.

/** The stage the handlers run as: it scopes their default secret names. */
export const STAGE = 'itest';
export const CREDENTIALS_PREFIX = `/cluster-password-reset/${STAGE}/credentials`;

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
  /** Holds the cluster busy (as while it applies a change), or lets it be available again. */
  setBusy(clusterId: string, busy: boolean): void;
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

/** Failures below HTTP, the same for every provider. */
const TRANSPORT_FAULTS: ProviderHarness['resetAnswers'] = [
  { name: 'a dropped connection', fault: { drop: true }, code: 'PROVIDER_UNAVAILABLE', status: 503 },
  {
    name: 'no answer in time',
    fault: { delayMs: 1500, status: 200 },
    code: 'PROVIDER_UNAVAILABLE',
    status: 503,
  },
];

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
  setBusy: (clusterId, busy) => {
    const cluster = sandbox.ncloud.cluster('KR', clusterId);
    if (!cluster) return;
    // Busy until the test says otherwise: not ended when an earlier reset's change would end.
    cluster.status = busy ? 'changing' : 'running';
    delete cluster.changingUntil;
  },
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
    ...TRANSPORT_FAULTS,
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

const OTC_PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
let nextCssId = 1;

const cssClusterId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** One cloud of the CSS API: its provider, where its handler and route are, and its simulator. */
interface CssHarnessCloud {
  id: string;
  credentialsFolder: string;
  /** The route's first segment. */
  routePrefix: string;
  loadHandler: ProviderHarness['loadHandler'];
  region: string;
  simulator: OtcCssSimulator;
}

// The clouds share one API, so they share one harness: the same answers and blocking states must
// map to the same codes on each.
const cssHarness = ({
  id,
  credentialsFolder,
  routePrefix,
  loadHandler,
  region,
  simulator,
}: CssHarnessCloud): ProviderHarness => {
  const cssState = (name: string, change: Partial<OtcCluster>, code: string, status: number) => ({
    name,
    apply: (clusterId: string) => {
      const cluster = simulator.cluster(region, clusterId);
      if (cluster) Object.assign(cluster, change);
    },
    code,
    status,
  });
  return {
    id,
    operation: 'reset-admin-password',
    region,
    credentialsFolder,
    loadHandler,
    newClusterId: () => cssClusterId(nextCssId++),
    addCluster: (clusterId, { password, busy }) => {
      simulator.addCluster({
        region,
        projectId: OTC_PROJECT,
        clusterId,
        password,
        ...(busy ? { actions: ['RESIZING'] } : {}),
      });
    },
    clusterPassword: (clusterId) => simulator.cluster(region, clusterId)?.password,
    setBusy: (clusterId, busy) => {
      const cluster = simulator.cluster(region, clusterId);
      if (!cluster) return;
      // Busy until the test says otherwise: not cleared when an earlier reset's busy time ends.
      cluster.actions = busy ? ['RESET_PASSWORD'] : [];
      delete cluster.busyUntil;
    },
    calls: (clusterId, operation) =>
      simulator.calls.filter((c) => c.clusterId === clusterId && (!operation || c.operation === operation)),
    allCalls: () => simulator.calls,
    addFault: (fault) => simulator.faults.add(fault),
    registerKeys: (accessKey, secretKey) => {
      simulator.addKey(accessKey, secretKey);
      return { accessKey, secretKey, projectIds: { [region]: OTC_PROJECT } };
    },
    httpEvent: (clusterId, body, headers) =>
      restApiEvent({
        resource: `/${routePrefix}/css/{region}/clusters/{clusterId}/admin-password`,
        path: `/${routePrefix}/css/${region}/clusters/${clusterId}/admin-password`,
        pathParameters: { region, clusterId },
        body,
        headers: headers ?? {},
      }),
    badClusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3%2F..',
    validPassword: 'Supplied-Pass1',
    resetAnswers: [
      {
        name: 'HTTP 202 with CSS.0011 (another operation running)',
        fault: {
          status: 202,
          body: { error_code: 'CSS.0011', error_msg: 'Another operation is in progress' },
        },
        code: 'CLUSTER_STATE_CONFLICT',
        status: 409,
      },
      {
        name: 'HTTP 400 CSS.0050 (password refused)',
        fault: { status: 400, body: { error_code: 'CSS.0050', error_msg: 'Invalid password' } },
        code: 'PASSWORD_POLICY_VIOLATION',
        status: 400,
      },
      {
        name: 'HTTP 404 CSS.0047',
        fault: { status: 404, body: { error_code: 'CSS.0047', error_msg: 'The cluster does not exist' } },
        code: 'CLUSTER_NOT_FOUND',
        status: 404,
      },
      {
        name: 'HTTP 412',
        fault: { status: 412, body: { error_code: 'CSS.0015', error_msg: 'Security mode is off' } },
        code: 'PRECONDITION_FAILED',
        status: 412,
      },
      {
        name: 'HTTP 400 other',
        fault: { status: 400, body: { error: { code: 'APIGW.0101', message: 'Bad request' } } },
        code: 'PROVIDER_REJECTED',
        status: 422,
      },
      {
        name: 'HTTP 429 with Retry-After',
        fault: {
          status: 429,
          headers: { 'retry-after': '3' },
          body: { error_code: 'APIGW.0308', error_msg: 'throttled' },
        },
        code: 'PROVIDER_THROTTLED',
        status: 429,
      },
      {
        name: 'HTTP 500',
        fault: { status: 500, text: 'Internal Server Error' },
        code: 'PROVIDER_UNAVAILABLE',
        status: 503,
      },
      ...TRANSPORT_FAULTS,
    ],
    blockingStates: [
      cssState('an action in progress', { actions: ['RESIZING'] }, 'CLUSTER_STATE_CONFLICT', 409),
      cssState('status 303 (unavailable)', { status: '303' }, 'CLUSTER_STATE_CONFLICT', 409),
      cssState('security mode off', { authorityEnable: false }, 'PRECONDITION_FAILED', 412),
    ],
  };
};

export const otcHarness = (sandbox: Sandbox): ProviderHarness =>
  cssHarness({
    id: 'otc-css',
    credentialsFolder: 'otc',
    routePrefix: 'otc',
    loadHandler: async () =>
      (await import('../../functions/otc-css-reset-admin-password.ts')).handler as never,
    region: 'eu-de',
    simulator: sandbox.otc,
  });

export const huaweicloudHarness = (sandbox: Sandbox): ProviderHarness =>
  cssHarness({
    id: 'huaweicloud-css',
    credentialsFolder: 'huaweicloud',
    routePrefix: 'huaweicloud',
    loadHandler: async () =>
      (await import('../../functions/huaweicloud-css-reset-admin-password.ts')).handler as never,
    region: 'ap-southeast-1',
    simulator: sandbox.huaweicloud,
  });
