import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  answerWithFault,
  FaultQueue,
  parseJson,
  type ResetListener,
  readBody,
  sendJson,
  waitForFault,
} from './http-util.ts';

// A simulator of the Naver Cloud CDSS API as Naver's API reference describes it: signature v2
// checked strictly (5 minutes of skew), region by URI prefix (the public and the government
// site's prefixes), the manager password rule, cluster states, `result: null` and gateway errors
// on demand. Written apart from lib/ on purpose: a shared signer would hide a signing bug from
// the tests.
//
// The reset is `resetMGMTPassword`. Naver retired `resetCMAKPassword` (2026-09-17): the simulator
// answers it as the gateway answers an API that no longer exists (404, errorCode 300), unless
// `retiredResetAvailable` is set, for an account that still has it.

const PREFIX_REGION: Record<string, string> = {
  'api/v1': 'KR',
  'api/sgn-v1': 'SGN',
  'api/jpn-v1': 'JPN',
  'api/krs-v1': 'KRS',
};
const ROUTE =
  /^\/(api\/(?:v1|sgn-v1|jpn-v1|krs-v1))\/cluster\/(resetMGMTPassword|resetCMAKPassword|getClusterInfoList)\/([0-9]+)$/;
const RETIRED_RESET_API = 'resetCMAKPassword';
const MAX_SKEW_MS = 5 * 60 * 1000;
const ALLOWED_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

export interface NcloudCluster {
  region: string;
  serviceGroupInstanceNo: string;
  status: string;
  password: string;
  /** The manager (CMAK) account, `kafkaManagerUserName` in the cluster info. */
  managerUserName?: string;
  /** When a reset's `changing` state ends. */
  changingUntil?: number;
}

export interface NcloudCall {
  operation: string;
  /** The API named in the path (resetMGMTPassword, resetCMAKPassword, getClusterInfoList). */
  api?: string;
  region?: string;
  clusterId?: string;
  status: number;
}

const gatewayError = (res: ServerResponse, status: number, errorCode: string, message: string) =>
  sendJson(res, status, { error: { errorCode, message, details: message } });

/** Naver's published rule, intersected with the special characters Naver's Terraform provider allows. */
export const cmakPasswordProblem = (password: unknown): string | undefined => {
  if (typeof password !== 'string') return 'kafkaManagerUserPassword is required';
  const chars = [...password];
  if (chars.length < 8 || chars.length > 20) return 'must be 8 to 20 characters';
  if (!chars.every((c) => /[A-Za-z0-9]/.test(c) || ALLOWED_SPECIALS.includes(c))) {
    return 'contains a character that is not allowed';
  }
  if (!chars.some((c) => /[A-Za-z]/.test(c)) || !chars.some((c) => /[0-9]/.test(c))) {
    return 'must combine letters, numbers and special characters';
  }
  if (!chars.some((c) => ALLOWED_SPECIALS.includes(c)))
    return 'must combine letters, numbers and special characters';
  return undefined;
};

export class NcloudCdssSimulator {
  readonly clusters = new Map<string, NcloudCluster>();
  readonly keys = new Map<string, string>();
  readonly faults = new FaultQueue();
  /** Passwords that pass the published rule but that the provider refuses anyway (for tests). */
  readonly refusedPasswords = new Set<string>();
  /** Told of every authenticated reset request as it arrives, before it is handled. */
  readonly resetListeners: ResetListener[] = [];
  /** Told of every password the cluster takes, when it takes it (late applies included). */
  readonly applyListeners: ResetListener[] = [];
  readonly calls: NcloudCall[] = [];
  /** How long a cluster stays `changing` after a reset. */
  changingMs: number;
  /** Whether the retired resetCMAKPassword still answers (an account that still has it). */
  retiredResetAvailable = false;

  constructor(options: { changingMs?: number } = {}) {
    this.changingMs = options.changingMs ?? 300;
  }

  addKey(accessKey: string, secretKey: string): void {
    this.keys.set(accessKey, secretKey);
  }

  addCluster(cluster: Omit<NcloudCluster, 'status'> & { status?: string }): NcloudCluster {
    const full = { status: 'running', managerUserName: 'kafkamanager', ...cluster };
    this.clusters.set(`${cluster.region}/${cluster.serviceGroupInstanceNo}`, full);
    return full;
  }

  cluster(region: string, serviceGroupInstanceNo: string): NcloudCluster | undefined {
    const cluster = this.clusters.get(`${region}/${serviceGroupInstanceNo}`);
    if (cluster?.changingUntil !== undefined && Date.now() >= cluster.changingUntil) {
      cluster.status = 'running';
      delete cluster.changingUntil;
    }
    return cluster;
  }

  /** Requests that reached a cluster operation (authenticated or not). */
  operationCalls(operation?: string): NcloudCall[] {
    return this.calls.filter((call) => operation === undefined || call.operation === operation);
  }

  #authenticate(req: IncomingMessage): string | undefined {
    const timestamp = req.headers['x-ncp-apigw-timestamp'];
    const accessKey = req.headers['x-ncp-iam-access-key'];
    const signature = req.headers['x-ncp-apigw-signature-v2'];
    if (typeof timestamp !== 'string' || typeof accessKey !== 'string' || typeof signature !== 'string') {
      return 'missing authentication headers';
    }
    if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() - Number(timestamp)) > MAX_SKEW_MS) {
      return 'timestamp outside the allowed window';
    }
    const secretKey = this.keys.get(accessKey);
    if (!secretKey) return 'unknown access key';
    const expected = createHmac('sha256', secretKey)
      .update(`${req.method} ${req.url}\n${timestamp}\n${accessKey}`)
      .digest();
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = ROUTE.exec(req.url ?? '');
    if (!match || req.method !== 'POST') {
      this.calls.push({ operation: 'unknown', status: 404 });
      gatewayError(res, 404, '300', 'Not Found');
      return;
    }
    const region = PREFIX_REGION[match[1] as string] as string;
    const api = match[2] as string;
    const operation = api === 'getClusterInfoList' ? 'state' : 'reset';
    const clusterId = match[3] as string;
    const body = await readBody(req);
    const record = (status: number) => this.calls.push({ operation, api, region, clusterId, status });

    if (api === RETIRED_RESET_API && !this.retiredResetAvailable) {
      // The gateway no longer routes the retired API: its generic "not found" answer.
      record(404);
      gatewayError(res, 404, '300', 'Not Found Exception');
      return;
    }

    const authProblem = this.#authenticate(req);
    if (authProblem) {
      record(401);
      gatewayError(res, 401, '200', `Authentication Failed: ${authProblem}`);
      return;
    }
    if (operation === 'reset') {
      const sent = (parseJson(body) as { kafkaManagerUserPassword?: unknown } | undefined)
        ?.kafkaManagerUserPassword;
      if (typeof sent === 'string')
        for (const listener of this.resetListeners) listener({ region, clusterId, password: sent });
    }
    const fault = this.faults.take(operation, clusterId);
    if (await waitForFault(res, fault)) {
      record(0);
      return;
    }
    if (fault && !fault.applyThenDrop && answerWithFault(res, fault)) {
      record(fault.status ?? 0);
      return;
    }
    const cluster = this.cluster(region, clusterId);
    if (!cluster) {
      record(404);
      gatewayError(res, 404, '300', 'Not Found: no such cluster');
      return;
    }
    if (operation === 'state') {
      record(200);
      sendJson(res, 200, {
        code: 0,
        message: 'SUCCESS',
        result: {
          serviceGroupInstanceNo: Number(clusterId),
          status: cluster.status,
          kafkaManagerUserName: cluster.managerUserName,
        },
        requestId: randomUUID(),
      });
      return;
    }
    const password = (parseJson(body) as { kafkaManagerUserPassword?: unknown } | undefined)
      ?.kafkaManagerUserPassword;
    const problem = cmakPasswordProblem(password);
    if (problem) {
      record(400);
      gatewayError(res, 400, '100', `Bad Request: kafkaManagerUserPassword ${problem}`);
      return;
    }
    if (this.refusedPasswords.has(password as string)) {
      record(400);
      gatewayError(res, 400, '100', 'Bad Request: the password cannot be used');
      return;
    }
    if (cluster.status !== 'running') {
      record(409);
      gatewayError(res, 409, '1001', `The cluster is ${cluster.status}`);
      return;
    }
    cluster.password = password as string;
    for (const listener of this.applyListeners) listener({ region, clusterId, password: cluster.password });
    cluster.status = 'changing';
    cluster.changingUntil = Date.now() + this.changingMs;
    if (fault?.applyThenDrop) {
      record(0);
      res.socket?.destroy();
      return;
    }
    record(200);
    sendJson(res, 200, { code: 0, message: 'SUCCESS', result: true, requestId: randomUUID() });
  }
}
