import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  ScanCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { AwsSubsetSimulator } from './aws.ts';
import {
  answerWithFault,
  FaultQueue,
  LostWriteLog,
  parseJson,
  readBody,
  readBodyBytes,
  sendJson,
  waitForFault,
} from './http-util.ts';
import { NcloudCdssSimulator } from './ncloud-cdss.ts';
import { OtcCssSimulator } from './otc-css.ts';

// One process that stands in for every remote party the handlers talk to: the provider APIs,
// the AWS subset, DynamoDB (dynalite) and a control API (/_sandbox/…) for tests and demos.

export interface SandboxOptions {
  host?: string;
  /** 0 picks a free port. */
  awsPort?: number;
  ncloudPort?: number;
  otcPort?: number;
  huaweicloudPort?: number;
  dynamoPort?: number;
  lockTable?: string;
  /** The rotation history's table (HISTORY_TABLE). */
  historyTable?: string;
  ncloudChangingMs?: number;
  otcChangingMs?: number;
  huaweicloudChangingMs?: number;
}

export interface Sandbox {
  urls: { aws: string; ncloud: string; otc: string; huaweicloud: string; dynamodb: string };
  /** Environment that points the unchanged handlers at this sandbox. */
  env: Record<string, string>;
  ncloud: NcloudCdssSimulator;
  otc: OtcCssSimulator;
  /** Huawei Cloud's CSS: the same API as OTC's, another cloud with its own keys and clusters. */
  huaweicloud: OtcCssSimulator;
  aws: AwsSubsetSimulator;
  /** Every password and key the sandbox holds (credentials, stored secrets, cluster passwords): for leak checks. */
  secretMaterial(): string[];
  /** Faults for DynamoDB calls, by X-Amz-Target (e.g. "DynamoDB_20120810.PutItem"). */
  dynamoFaults: FaultQueue;
  /** DynamoDB writes applied whose answer an `applyThenDrop` fault dropped, and the SDK's retries. */
  dynamoLostWrites: LostWriteLog;
  /**
   * Lets `ms` pass for what the sandbox keeps (the handlers' own clock is untouched): the lock
   * table's items age (their TTL attribute `expiresAt` moves `ms` into the past, and DynamoDB's TTL
   * deletes those whose time is up, as AWS does), and Secrets Manager's dates age likewise. Answers
   * how many items expired.
   */
  advanceClock(ms: number): Promise<{ expired: number }>;
  close(): Promise<void>;
}

const listen = (server: Server, port: number, host: string): Promise<string> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve(`http://${host}:${address.port}`);
    });
  });

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });

const guard =
  (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
  (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: `sandbox error: ${String(error)}` });
    });
  };

const control = async (
  sandbox: Pick<Sandbox, 'ncloud' | 'otc' | 'huaweicloud' | 'aws' | 'dynamoFaults' | 'advanceClock'>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> => {
  const url = new URL(req.url ?? '/', 'http://sandbox');
  // Control input is trusted test input; the simulators take it as given.
  const body = (parseJson(await readBody(req)) ?? {}) as never;
  const path = url.pathname.replace(/^\/_sandbox/, '');
  const ncloudCluster = /^\/ncloud\/clusters\/([A-Z]+)\/([0-9]+)$/.exec(path);
  if (req.method === 'GET' && ncloudCluster) {
    const cluster = sandbox.ncloud.cluster(ncloudCluster[1] as string, ncloudCluster[2] as string);
    return cluster ? sendJson(res, 200, cluster) : sendJson(res, 404, { message: 'no such cluster' });
  }
  if (req.method === 'POST' && path === '/ncloud/clusters')
    return sendJson(res, 200, sandbox.ncloud.addCluster(body));
  if (req.method === 'PUT' && path === '/ncloud/retired-reset-api') {
    sandbox.ncloud.retiredResetAvailable = (body as { available?: unknown }).available === true;
    return sendJson(res, 200, { available: sandbox.ncloud.retiredResetAvailable });
  }
  if (req.method === 'POST' && path === '/ncloud/faults') {
    sandbox.ncloud.faults.add(body);
    return sendJson(res, 200, {});
  }
  // The CSS clouds have the same routes, each under its own name.
  for (const name of ['otc', 'huaweicloud'] as const) {
    const css = sandbox[name];
    const cssCluster = new RegExp(`^/${name}/clusters/([a-z0-9-]+)/([0-9a-f-]+)$`).exec(path);
    if (req.method === 'GET' && cssCluster) {
      const cluster = css.cluster(cssCluster[1] as string, cssCluster[2] as string);
      return cluster ? sendJson(res, 200, cluster) : sendJson(res, 404, { message: 'no such cluster' });
    }
    if (req.method === 'POST' && path === `/${name}/clusters`)
      return sendJson(res, 200, css.addCluster(body));
    if (req.method === 'POST' && path === `/${name}/faults`) {
      css.faults.add(body);
      return sendJson(res, 200, {});
    }
  }
  if (req.method === 'POST' && path === '/aws/faults') {
    sandbox.aws.faults.add(body);
    return sendJson(res, 200, {});
  }
  if (req.method === 'POST' && path === '/dynamodb/faults') {
    sandbox.dynamoFaults.add(body);
    return sendJson(res, 200, {});
  }
  if (req.method === 'POST' && path === '/clock') {
    const seconds = Number((body as { advanceSeconds?: unknown }).advanceSeconds);
    if (!Number.isFinite(seconds) || seconds <= 0)
      return sendJson(res, 400, { message: 'advanceSeconds must be a positive number' });
    const { expired } = await sandbox.advanceClock(seconds * 1000);
    return sendJson(res, 200, { advancedSeconds: seconds, expired });
  }
  if (req.method === 'GET' && path === '/secrets') {
    const value = sandbox.aws.secretValue(
      url.searchParams.get('name') ?? '',
      url.searchParams.get('stage') ?? 'AWSCURRENT',
    );
    return value ? sendJson(res, 200, value) : sendJson(res, 404, { message: 'no such secret version' });
  }
  if (req.method === 'GET' && path === '/events') {
    const events = sandbox.aws.events.map((e) => ({
      'detail-type': e.DetailType,
      detail: parseJson(e.Detail ?? ''),
    }));
    return sendJson(res, 200, events);
  }
  if (req.method === 'GET' && path === '/dead-letters') return sendJson(res, 200, sandbox.aws.deadLetters);
  if (req.method === 'GET' && path === '/rotations') return sendJson(res, 200, sandbox.aws.rotations);
  if (req.method === 'GET' && path === '/calls') {
    return sendJson(res, 200, {
      ncloud: sandbox.ncloud.calls,
      otc: sandbox.otc.calls,
      huaweicloud: sandbox.huaweicloud.calls,
      aws: sandbox.aws.calls,
      events: sandbox.aws.events,
    });
  }
  sendJson(res, 404, { message: `unknown sandbox control route ${req.method} ${path}` });
};

/** The lock table's TTL attribute (epoch seconds), as the stack declares it. */
const TTL_ATTRIBUTE = 'expiresAt';

export const createLockTable = async (endpoint: string, tableName: string): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite keeps TTL settings but does not expire items (the lease compares expiresAt itself);
  // the sandbox's clock expires them when a test lets time pass (advanceClock).
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    .catch(() => undefined);
  client.destroy();
};

/**
 * Ages every item of a table by `ms`: its TTL attribute moves into the past, and an item whose time
 * is then up is deleted (DynamoDB's TTL, without its lag). Items without the attribute never expire.
 */
const ageItems = async (endpoint: string, tableName: string, ms: number): Promise<number> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  const nowSeconds = Math.floor(Date.now() / 1000);
  let expired = 0;
  let start: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        const ttl = item[TTL_ATTRIBUTE]?.N;
        if (ttl === undefined) continue;
        const aged = Number(ttl) - Math.ceil(ms / 1000);
        const Key = { pk: item.pk as AttributeValue };
        if (aged < nowSeconds) {
          await client.send(new DeleteItemCommand({ TableName: tableName, Key }));
          expired++;
        } else {
          await client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key,
              UpdateExpression: 'SET #ttl = :aged',
              ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
              ExpressionAttributeValues: { ':aged': { N: String(aged) } },
            }),
          );
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return expired;
};

/** Forwards to dynalite, unless a fault for the call's X-Amz-Target answers first. */
const faultyProxy = (faults: FaultQueue, lostWrites: LostWriteLog, target: () => string) =>
  guard(async (req, res) => {
    const body = await readBodyBytes(req);
    lostWrites.heard(req);
    const fault = faults.take(String(req.headers['x-amz-target'] ?? ''), undefined, body.toString('utf8'));
    if ((await waitForFault(res, fault)) || (fault && answerWithFault(res, fault))) return;
    const upstream = new URL(target());
    await new Promise<void>((resolve, reject) => {
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          if (fault?.applyThenDrop) {
            // dynalite applied the write; the caller never hears of it.
            lostWrites.lost(String(req.headers['x-amz-target'] ?? ''), req);
            answer.resume();
            res.socket?.destroy();
            resolve();
            return;
          }
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res).on('finish', resolve);
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });
  });

const FINGERPRINT_KEY_SECRET = 'cluster-password-reset-local-fingerprint-key';

/** The stage's rotation history (lib/history.ts), as the stack declares it: by cluster, then time. */
export const createHistoryTable = async (endpoint: string, tableName: string): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  client.destroy();
};

export const startSandbox = async (options: SandboxOptions = {}): Promise<Sandbox> => {
  const host = options.host ?? '127.0.0.1';
  const lockTable = options.lockTable ?? 'cluster-password-reset-local-leases';
  const historyTable = options.historyTable ?? 'cluster-password-reset-local-history';
  const ncloud = new NcloudCdssSimulator({ changingMs: options.ncloudChangingMs ?? 300 });
  // One CSS simulator answers for every region: OTC_CSS_ENDPOINT points all regions at it.
  const otc = new OtcCssSimulator({ changingMs: options.otcChangingMs ?? 300 });
  // Likewise HUAWEICLOUD_CSS_ENDPOINT for Huawei's regions, on a port of its own; an endpoint
  // without `{region}` reaches one of Huawei's regions, not OTC's default.
  const huaweicloud = new OtcCssSimulator({
    changingMs: options.huaweicloudChangingMs ?? 300,
    region: 'ap-southeast-1',
  });
  const aws = new AwsSubsetSimulator();
  const dynamoFaults = new FaultQueue();
  const dynamoLostWrites = new LostWriteLog();
  let dynaliteUrl = '';
  const advanceClock = async (ms: number) => {
    aws.advanceClock(ms);
    return { expired: await ageItems(dynaliteUrl, lockTable, ms) };
  };
  const parts = { ncloud, otc, huaweicloud, aws, dynamoFaults, advanceClock };

  const awsServer = createServer(
    guard((req, res) =>
      req.url?.startsWith('/_sandbox/') ? control(parts, req, res) : aws.handle(req, res),
    ),
  );
  const ncloudServer = createServer(guard((req, res) => ncloud.handle(req, res)));
  const otcServer = createServer(guard((req, res) => otc.handle(req, res)));
  const huaweicloudServer = createServer(guard((req, res) => huaweicloud.handle(req, res)));
  const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoServer = createServer(faultyProxy(dynamoFaults, dynamoLostWrites, () => dynaliteUrl));

  const urls = {
    aws: await listen(awsServer, options.awsPort ?? 0, host),
    ncloud: await listen(ncloudServer, options.ncloudPort ?? 0, host),
    otc: await listen(otcServer, options.otcPort ?? 0, host),
    huaweicloud: await listen(huaweicloudServer, options.huaweicloudPort ?? 0, host),
    dynamodb: await listen(dynamoServer, options.dynamoPort ?? 0, host),
  };
  dynaliteUrl = await listen(dynaliteServer, 0, host);
  await createLockTable(urls.dynamodb, lockTable);
  await createHistoryTable(urls.dynamodb, historyTable);
  // What the stack creates per deployment: the key that binds supplied passwords to idempotency keys.
  aws.createSecret({ Name: FINGERPRINT_KEY_SECRET, SecretString: randomBytes(32).toString('hex') });

  return {
    urls,
    env: {
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      AWS_ENDPOINT_URL_SSM: urls.aws,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: urls.aws,
      AWS_ENDPOINT_URL_EVENTBRIDGE: urls.aws,
      AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
      NCLOUD_CDSS_ENDPOINT: urls.ncloud,
      // `{region}` in the path lets the simulator tell regions apart, as separate hosts would.
      OTC_CSS_ENDPOINT: `${urls.otc}/{region}`,
      HUAWEICLOUD_CSS_ENDPOINT: `${urls.huaweicloud}/{region}`,
      LOCK_TABLE: lockTable,
      HISTORY_TABLE: historyTable,
      FINGERPRINT_KEY_SECRET,
    },
    ncloud,
    otc,
    huaweicloud,
    aws,
    dynamoFaults,
    dynamoLostWrites,
    advanceClock,
    secretMaterial: () => {
      const values: string[] = [];
      const fromJson = (text: string) => {
        const parsed = parseJson(text) as Record<string, unknown> | undefined;
        for (const key of ['password', 'secretKey'])
          if (typeof parsed?.[key] === 'string') values.push(parsed[key] as string);
      };
      for (const parameter of aws.parameters.values()) {
        values.push(parameter.Value);
        fromJson(parameter.Value);
      }
      // An empty version (a rotation's, before createSecret) holds nothing.
      for (const secret of aws.secrets.values())
        for (const version of secret.versions.values())
          if (version.value !== undefined) fromJson(version.value);
      for (const version of aws.secrets.get(FINGERPRINT_KEY_SECRET)?.versions.values() ?? [])
        if (version.value !== undefined) values.push(version.value);
      for (const cluster of ncloud.clusters.values()) values.push(cluster.password);
      for (const cluster of otc.clusters.values()) values.push(cluster.password);
      for (const cluster of huaweicloud.clusters.values()) values.push(cluster.password);
      values.push(...ncloud.keys.values(), ...otc.keys.values(), ...huaweicloud.keys.values());
      return values;
    },
    close: async () => {
      await Promise.all([
        close(awsServer),
        close(ncloudServer),
        close(otcServer),
        close(huaweicloudServer),
        close(dynamoServer),
        close(dynaliteServer),
      ]);
    },
  };
};
