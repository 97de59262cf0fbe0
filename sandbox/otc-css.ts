import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  answerWithFault,
  FaultQueue,
  type InjectedFault,
  parseJson,
  type ResetListener,
  readBodyBytes,
  sendJson,
  waitForFault,
} from './http-util.ts';

// A simulator of the Open Telekom Cloud CSS API as its API reference describes it (https://docs.otc.t-systems.com/cloud-search-service/api-ref/ (Changing the Password of a Cluster)): AK/SK
// signatures (SDK-HMAC-SHA256) verified strictly from the request as received, 15 minutes of
// clock skew, X-Project-Id checked against the path, the published admin password rule,
// cluster states (status, actions, security mode), and gateway errors on demand. Written apart
// from lib/ on purpose: a shared signer would hide a signing bug from the tests.
//
// Huawei Cloud serves the same API on its own hosts and regions: the sandbox runs a second
// instance of this class for it, with its own keys and clusters, as a separate cloud would have.
//
// Region: one simulator answers for every region. A request's region is the first path segment
// when the endpoint carries one (OTC_CSS_ENDPOINT=http://127.0.0.1:PORT/{region} gives
// /eu-nl/v1.0/…); otherwise it is the simulator's `region` option (default eu-de), which is what
// an endpoint without `{region}` reaches. The segment admits both clouds' region names (eu-de,
// eu-ch2, ap-southeast-1, my-kualalumpur-1, eu-west-101).

const ROUTE =
  /^(?:\/([a-z]{2}-[a-z]+(?:-?[0-9]+)?))?\/v1\.0\/([^/]+)\/clusters\/([^/]+)(\/password\/reset)?$/;
const AUTHORIZATION = /^SDK-HMAC-SHA256 Access=([^\s,]+), SignedHeaders=([^\s,]+), Signature=([0-9a-f]{64})$/;
const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const MAX_SKEW_MS = 15 * 60 * 1000;
const CSS_SPECIALS = '~!@#$%^&*()-_=+\\|[{}];:,<.>/?';
const RESET_ACTION = 'RESET_PASSWORD';

export interface OtcCluster {
  region: string;
  projectId: string;
  clusterId: string;
  name: string;
  /** The admin password; exposed to tests only, never in an API answer. */
  password: string;
  /** "100" an operation in progress, "200" available, "303" unavailable. */
  status: string;
  /** Security mode: only then is there an admin password. */
  authorityEnable: boolean;
  actions: string[];
  /** When the actions a reset started end. */
  busyUntil?: number;
}

export interface OtcClusterInput {
  region: string;
  projectId: string;
  clusterId: string;
  password: string;
  name?: string;
  status?: string;
  authorityEnable?: boolean;
  actions?: string[];
}

export interface OtcCall {
  operation: string;
  region?: string;
  projectId?: string;
  clusterId?: string;
  status: number;
}

const withRequestId = (headers: Record<string, string> = {}): Record<string, string> => ({
  'x-request-id': randomUUID().replaceAll('-', ''),
  ...headers,
});

const cssError = (res: ServerResponse, status: number, errorCode: string, errorMsg: string): void =>
  sendJson(res, status, { error_code: errorCode, error_msg: errorMsg }, withRequestId());

// --- Canonical form, byte by byte (deliberately not the way lib/ does it) ---

const isUnreservedByte = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) ||
  (byte >= 0x41 && byte <= 0x5a) ||
  (byte >= 0x61 && byte <= 0x7a) ||
  byte === 0x2d ||
  byte === 0x2e ||
  byte === 0x5f ||
  byte === 0x7e;

const percentEncode = (text: string): string => {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += isUnreservedByte(byte)
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
};

const isHex = (char: string | undefined): boolean => char !== undefined && /^[0-9A-Fa-f]$/.test(char);

const percentDecode = (text: string, plusIsSpace: boolean): string => {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '%' && isHex(text[i + 1]) && isHex(text[i + 2])) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (char === '+' && plusIsSpace) {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
};

const compareUnits = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);

const canonicalPath = (rawPath: string): string => {
  const path = rawPath
    .split('/')
    .map((segment) => percentEncode(percentDecode(segment, false)))
    .join('/');
  return path.endsWith('/') ? path : `${path}/`;
};

const canonicalQueryString = (rawQuery: string): string =>
  rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      return [percentDecode(key, true), percentDecode(value, true)] as const;
    })
    .sort((a, b) => compareUnits(a[0], b[0]) || compareUnits(a[1], b[1]))
    .map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`)
    .join('&');

const parseSdkDate = (value: string): number | undefined => {
  const match = SDK_DATE.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
};

/** The published admin password rule (with the console's "not admin, nor admin reversed"). */
export const cssPasswordProblem = (password: unknown): string | undefined => {
  if (typeof password !== 'string') return 'newpassword is required';
  const chars = [...password];
  if (chars.length < 8 || chars.length > 32) return 'must contain 8 to 32 characters';
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/];
  if (!chars.every((c) => kinds.some((kind) => kind.test(c)) || CSS_SPECIALS.includes(c))) {
    return 'contains a character that is not allowed';
  }
  const used =
    kinds.filter((kind) => chars.some((c) => kind.test(c))).length +
    (chars.some((c) => CSS_SPECIALS.includes(c)) ? 1 : 0);
  if (used < 3) {
    return 'must contain at least three of: upper-case letters, lower-case letters, digits, special characters';
  }
  if (['admin', 'nimda'].includes(password.toLowerCase())) return 'must not be the user name or its reverse';
  return undefined;
};

export class OtcCssSimulator {
  readonly clusters = new Map<string, OtcCluster>();
  readonly keys = new Map<string, string>();
  readonly faults = new FaultQueue();
  /** Passwords that pass the published rule but that the provider refuses anyway (for tests). */
  readonly refusedPasswords = new Set<string>();
  /** Told of every authenticated reset request as it arrives, before it is handled. */
  readonly resetListeners: ResetListener[] = [];
  /** Told of every password the cluster takes, when it takes it (late applies included). */
  readonly applyListeners: ResetListener[] = [];
  readonly calls: OtcCall[] = [];
  /** How long a cluster stays busy after a reset. */
  changingMs: number;
  /** The region of requests whose path does not name one. */
  region: string;

  constructor(options: { changingMs?: number; region?: string } = {}) {
    this.changingMs = options.changingMs ?? 300;
    this.region = options.region ?? 'eu-de';
  }

  addKey(accessKey: string, secretKey: string): void {
    this.keys.set(accessKey, secretKey);
  }

  addCluster(input: OtcClusterInput): OtcCluster {
    const cluster: OtcCluster = {
      name: `css-${input.clusterId.slice(0, 8)}`,
      status: '200',
      authorityEnable: true,
      ...input,
      actions: [...(input.actions ?? [])],
    };
    this.clusters.set(`${input.region}/${input.clusterId}`, cluster);
    return cluster;
  }

  cluster(region: string, clusterId: string): OtcCluster | undefined {
    const cluster = this.clusters.get(`${region}/${clusterId}`);
    if (cluster?.busyUntil !== undefined && Date.now() >= cluster.busyUntil) {
      cluster.actions = cluster.actions.filter((action) => action !== RESET_ACTION);
      delete cluster.busyUntil;
    }
    return cluster;
  }

  /** Requests that reached a cluster operation (authenticated or not). */
  operationCalls(operation?: string): OtcCall[] {
    return this.calls.filter((call) => operation === undefined || call.operation === operation);
  }

  /** Why the request's AK/SK signature is not valid, or undefined when it is. */
  #authenticate(req: IncomingMessage, rawPath: string, rawQuery: string, body: Buffer): string | undefined {
    const authorization = req.headers.authorization;
    const match = typeof authorization === 'string' ? AUTHORIZATION.exec(authorization) : null;
    if (!match) return 'missing or malformed Authorization header';
    const [, accessKey, signedList, signature] = match as unknown as [string, string, string, string];
    const secretKey = this.keys.get(accessKey);
    if (secretKey === undefined) return 'unknown access key';

    const names = signedList.split(';');
    const sorted = names.every((name, i) => i === 0 || compareUnits(names[i - 1] as string, name) < 0);
    if (!sorted || !names.every((name) => HEADER_NAME.test(name))) {
      return 'SignedHeaders must be sorted, unique, lower-case header names';
    }
    if (!names.includes('host') || !names.includes('x-sdk-date')) {
      return 'SignedHeaders must include host and x-sdk-date';
    }
    const values: string[] = [];
    for (const name of names) {
      const value = req.headers[name];
      if (value === undefined) return `signed header ${name} is missing`;
      values.push(`${name}:${(Array.isArray(value) ? value.join(',') : value).trim()}\n`);
    }
    const sdkDate = String(req.headers['x-sdk-date']).trim();
    const signedAt = parseSdkDate(sdkDate);
    if (signedAt === undefined) return 'X-Sdk-Date is not YYYYMMDDTHHMMSSZ';
    if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) return 'X-Sdk-Date is outside the allowed window';

    const canonical = [
      req.method ?? '',
      canonicalPath(rawPath),
      canonicalQueryString(rawQuery),
      values.join(''),
      names.join(';'),
      createHash('sha256').update(body).digest('hex'),
    ].join('\n');
    const stringToSign = [
      'SDK-HMAC-SHA256',
      sdkDate,
      createHash('sha256').update(canonical, 'utf8').digest('hex'),
    ].join('\n');
    const expected = createHmac('sha256', secretKey).update(stringToSign, 'utf8').digest();
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return 'verify aksk signature fail';
    }
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? '' : target.slice(queryAt + 1);
    const match = ROUTE.exec(rawPath);
    const operation = !match
      ? undefined
      : match[4] && req.method === 'POST'
        ? 'reset'
        : !match[4] && req.method === 'GET'
          ? 'state'
          : undefined;
    if (!match || !operation) {
      this.calls.push({ operation: 'unknown', status: 404 });
      cssError(res, 404, 'APIGW.0101', 'The API does not exist or has not been published in the environment');
      return;
    }
    const region = match[1] ?? this.region;
    const projectId = match[2] as string;
    const clusterId = match[3] as string;
    const body = await readBodyBytes(req);
    const record = (status: number) => this.calls.push({ operation, region, projectId, clusterId, status });

    const authProblem = this.#authenticate(req, rawPath, rawQuery, body);
    if (authProblem) {
      record(401);
      cssError(res, 401, 'APIGW.0301', `Incorrect IAM authentication information: ${authProblem}`);
      return;
    }
    if (req.headers['x-project-id'] !== projectId) {
      record(403);
      cssError(res, 403, 'APIGW.0302', 'The X-Project-Id header does not name the project of the path');
      return;
    }
    if (operation === 'reset') {
      const sent = field(parseJson(body.toString('utf8')), 'newpassword');
      if (typeof sent === 'string')
        for (const listener of this.resetListeners) listener({ region, clusterId, password: sent });
    }
    const fault = this.faults.take(operation, clusterId);
    if (await waitForFault(res, fault)) {
      record(0);
      return;
    }
    if (fault && !fault.applyThenDrop) {
      const answered: InjectedFault = { ...fault, headers: withRequestId(fault.headers) };
      if (answerWithFault(res, answered)) {
        record(fault.status ?? 0);
        return;
      }
    }
    const cluster = this.cluster(region, clusterId);
    if (!cluster || cluster.projectId !== projectId) {
      record(404);
      cssError(res, 404, 'CSS.0047', 'The cluster does not exist or has been deleted');
      return;
    }
    if (operation === 'state') {
      record(200);
      sendJson(res, 200, clusterView(cluster), withRequestId());
      return;
    }
    const problem = cssPasswordProblem(field(parseJson(body.toString('utf8')), 'newpassword'));
    if (problem) {
      record(400);
      cssError(res, 400, 'CSS.0050', `Invalid password: ${problem}`);
      return;
    }
    if (this.refusedPasswords.has(field(parseJson(body.toString('utf8')), 'newpassword') as string)) {
      record(400);
      cssError(res, 400, 'CSS.0050', 'Invalid password: the password cannot be used');
      return;
    }
    if (cluster.status !== '200' || cluster.actions.length > 0) {
      record(409);
      cssError(res, 409, 'CSS.0011', 'Another operation is being performed on the cluster. Try again later');
      return;
    }
    if (!cluster.authorityEnable) {
      record(412);
      cssError(res, 412, 'CSS.0015', 'The cluster is not in security mode');
      return;
    }
    cluster.password = field(parseJson(body.toString('utf8')), 'newpassword') as string;
    for (const listener of this.applyListeners) listener({ region, clusterId, password: cluster.password });
    cluster.actions = [...cluster.actions, RESET_ACTION];
    cluster.busyUntil = Date.now() + this.changingMs;
    if (fault?.applyThenDrop) {
      record(0);
      res.socket?.destroy();
      return;
    }
    record(200);
    sendJson(res, 200, {}, withRequestId());
  }
}

const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

/** What GET /v1.0/{project_id}/clusters/{cluster_id} answers: never the password. */
const clusterView = (cluster: OtcCluster) => ({
  id: cluster.clusterId,
  name: cluster.name,
  status: cluster.status,
  authorityEnable: cluster.authorityEnable,
  httpsEnable: cluster.authorityEnable,
  actions: [...cluster.actions],
  actionProgress: Object.fromEntries(cluster.actions.map((action) => [action, '50%'])),
  datastore: { type: 'elasticsearch', version: '7.10.2' },
  endpoint: '192.168.0.10:9200',
  created: '2024-11-28T11:30:39',
  updated: '2024-11-28T11:30:39',
});
