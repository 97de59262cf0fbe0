import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  ListSecretVersionIdsCommand,
  paginateListSecrets,
  type SecretListEntry,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { readConfig } from '../lib/config.ts';
import { clusterHistory, defaultHistoryTable, type HistoryEntry, stageHistory } from '../lib/history.ts';
import { ACCOUNT_TAG, AWSCURRENT, AWSPENDING, MANAGED_BY } from '../lib/rotation/secret-store.ts';

// `npm run report -- --stage prod`: which clusters were rotated when. Lists the secrets the project
// keeps under a stage's prefix from Secrets Manager's metadata alone (ListSecrets: tags, dates,
// rotation settings, staging labels; ListSecretVersionIds: version dates), and the last successful
// rotation of each from the stage's rotation history (lib/history.ts); no secret value is ever
// read, so no password can be printed. `--history` lists every attempt instead: when, who, what,
// the outcome and the error code.
//   npm run report -- --stage prod [--prefix cluster-password-reset] [--region eu-central-1]
//                     [--endpoint-url http://127.0.0.1:4566] [--history-table <name>] [--json]
//   npm run report -- --stage prod --history [--cluster <provider>/<region>/<clusterId>] [--json]

/** One managed secret: its cluster, when its password last changed, and its rotation state. */
export interface ReportRow {
  secretName: string;
  provider: string;
  region: string;
  clusterId: string;
  projectId: string | null;
  /** The credentials account (the secret's `account` tag). */
  account: string | null;
  /**
   * The last successful rotation (ISO 8601): from the rotation history, or, for a cluster it has no
   * success of (rotated before the history existed), when the AWSCURRENT version was created. Never
   * a failed attempt. Null while the secret's first version, which holds no password, is still
   * AWSCURRENT (never rotated).
   */
  lastRotation: string | null;
  lastRotationSource: 'history' | 'AWSCURRENT version' | null;
  /** Secrets Manager rotation is turned on (RotationEnabled). */
  rotationScheduled: boolean;
  /** The rotation rules' schedule, e.g. `rate(30 days)`, while rotation is on. */
  schedule: string | null;
  nextRotation: string | null;
  /** A version is labelled AWSPENDING but not AWSCURRENT: a rotation has not finished. */
  rotationPending: boolean;
}

export interface ReportOptions {
  /** The stage whose default prefix (`cluster-password-reset/{stage}`) to list. */
  stage?: string;
  /** The secret prefix, for a stage that sets its own `secretPrefix`; wins over `stage`. */
  secretPrefix?: string;
  /** ListSecrets' page size (1-100). */
  pageSize?: number;
  /** The stage's rotation history; without it, last rotations come from Secrets Manager alone. */
  history?: HistorySource;
  /** Told why the history could not be read (then last rotations come from Secrets Manager alone). */
  onHistoryUnavailable?: (reason: string) => void;
}

/** Where the rotation history is read. */
export interface HistorySource {
  client: DynamoDBClient;
  table: string;
}

export const LAST_ROTATION_NOTE = [
  'Last rotation: the last successful one, from the rotation history; for a cluster the history has no',
  'success of, when its AWSCURRENT version was created (metadata only, no secret value is read). A failed',
  "attempt never counts: see --history. 'never': the secret's first version, which holds no password, is",
  'still AWSCURRENT.',
].join('\n');

/** The prefix a report lists: `secretPrefix` as given, otherwise the stage's default, as the handlers read it. */
export const reportPrefix = ({
  stage,
  secretPrefix,
}: Pick<ReportOptions, 'stage' | 'secretPrefix'>): string =>
  readConfig({
    STAGE: stage ?? 'dev',
    ...(secretPrefix === undefined ? {} : { SECRET_PREFIX: secretPrefix }),
  }).secretPrefix;

const iso = (date: Date | undefined): string | null => (date ? date.toISOString() : null);

const scheduleOf = (entry: SecretListEntry): string | null => {
  const rules = entry.RotationRules;
  const expression =
    rules?.ScheduleExpression ??
    (rules?.AutomaticallyAfterDays === undefined ? undefined : `rate(${rules.AutomaticallyAfterDays} days)`);
  if (expression === undefined) return null;
  return rules?.Duration === undefined ? expression : `${expression}, window ${rules.Duration}`;
};

/** The row of a listed secret, or undefined when it is not one of this prefix's managed secrets. */
export const rowOf = (entry: SecretListEntry, secretPrefix: string): ReportRow | undefined => {
  const tags = Object.fromEntries((entry.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
  const { provider, region } = tags;
  const clusterId = tags['cluster-id'];
  const name = entry.Name ?? '';
  // ListSecrets' tag filters match any key and any value, not the pair; and a short prefix (a stage
  // with `secretPrefix: cluster-password-reset`) is also the start of the other stages' names. A
  // secret of this prefix is named `{prefix}/{provider}/…`, the provider its tag names.
  if (tags[MANAGED_BY.Key] !== MANAGED_BY.Value || !provider || !region || !clusterId) return undefined;
  if (!name.startsWith(`${secretPrefix}/${provider}/`)) return undefined;

  const stages = Object.values(entry.SecretVersionsToStages ?? {});
  const scheduled = entry.RotationEnabled === true;
  return {
    secretName: name,
    provider,
    region,
    clusterId,
    projectId: tags['project-id'] || null,
    account: tags[ACCOUNT_TAG] || null,
    // Filled in by lastRotations: the history, else the AWSCURRENT version's date.
    lastRotation: null,
    lastRotationSource: null,
    rotationScheduled: scheduled,
    schedule: scheduled ? scheduleOf(entry) : null,
    nextRotation: scheduled ? iso(entry.NextRotationDate) : null,
    rotationPending: stages.some((s) => s.includes(AWSPENDING) && !s.includes(AWSCURRENT)),
  };
};

/** Whether the project has finished a rotation of the secret, from its metadata. */
const everRotated = (entry: SecretListEntry): boolean =>
  // Every rotation the project finishes moves AWSCURRENT off the first version, which then (or a
  // later one) carries AWSPREVIOUS; Secrets Manager's own rotation also sets LastRotatedDate.
  entry.LastRotatedDate !== undefined ||
  Object.values(entry.SecretVersionsToStages ?? {}).some((s) => s.includes('AWSPREVIOUS'));

/** When the secret's AWSCURRENT version was created: the start of its last successful rotation. */
const currentVersionDate = async (
  client: SecretsManagerClient,
  secretName: string,
): Promise<string | null> => {
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListSecretVersionIdsCommand({ SecretId: secretName, NextToken }));
    const current = page.Versions?.find((version) => version.VersionStages?.includes(AWSCURRENT));
    if (current) return iso(current.CreatedDate);
    NextToken = page.NextToken;
  } while (NextToken);
  return null;
};

const clusterOf = (entry: { provider: string; region: string; clusterId: string }) =>
  `${entry.provider}/${entry.region}/${entry.clusterId}`;

/** The last success of each cluster in the history. */
const lastSuccesses = (entries: HistoryEntry[]): Map<string, string> => {
  const last = new Map<string, string>();
  for (const entry of entries) {
    const key = clusterOf(entry);
    if (entry.outcome === 'succeeded' && entry.at > (last.get(key) ?? '')) last.set(key, entry.at);
  }
  return last;
};

/** The table is not there: a stage deployed before the history existed, or another table name. */
const isMissingTable = (error: unknown) =>
  error instanceof Error && error.name === 'ResourceNotFoundException';

/**
 * The report's rows: every secret under the prefix that carries the project's `managed-by` tag,
 * by provider, region and cluster, with its last successful rotation. Calls ListSecrets (every page
 * of it), one Scan of the history table, and ListSecretVersionIds for a rotated secret the history
 * has no success of.
 */
export const managedSecretsReport = async (
  client: SecretsManagerClient,
  options: ReportOptions,
): Promise<ReportRow[]> => {
  const secretPrefix = reportPrefix(options);
  const rows: ReportRow[] = [];
  const pages = paginateListSecrets(
    { client, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) },
    {
      Filters: [
        { Key: 'name', Values: [`${secretPrefix}/`] },
        { Key: 'tag-key', Values: [MANAGED_BY.Key] },
        { Key: 'tag-value', Values: [MANAGED_BY.Value] },
      ],
    },
  );
  const rotated = new Set<string>();
  for await (const page of pages) {
    for (const entry of page.SecretList ?? []) {
      const row = rowOf(entry, secretPrefix);
      if (row) rows.push(row);
      if (row && everRotated(entry)) rotated.add(row.secretName);
    }
  }
  let successes = new Map<string, string>();
  if (options.history && rows.length > 0) {
    try {
      successes = lastSuccesses(await stageHistory(options.history.client, options.history.table));
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      options.onHistoryUnavailable?.(
        isMissingTable(error)
          ? `no rotation history table ${options.history.table}`
          : `the rotation history ${options.history.table} could not be read (${name})`,
      );
    }
  }
  for (const row of rows) {
    const fromHistory = successes.get(clusterOf(row));
    if (fromHistory) {
      row.lastRotation = fromHistory;
      row.lastRotationSource = 'history';
    } else if (rotated.has(row.secretName)) {
      row.lastRotation = await currentVersionDate(client, row.secretName);
      row.lastRotationSource = row.lastRotation === null ? null : 'AWSCURRENT version';
    }
  }
  const key = (row: ReportRow) => [row.provider, row.region, row.clusterId, row.secretName];
  return rows.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    const index = ka.findIndex((part, i) => part !== kb[i]);
    return index < 0 ? 0 : (ka[index] as string).localeCompare(kb[index] as string);
  });
};

const shortTime = (value: string | null): string => (value ? value.replace(/\.\d{3}Z$/, 'Z') : '');

/** The rows as a text table, one line per secret, with the note on what "last rotation" is. */
export const formatTable = (rows: ReportRow[]): string => {
  const header = [
    'PROVIDER',
    'REGION',
    'CLUSTER',
    'PROJECT',
    'LAST ROTATION',
    'SCHEDULED',
    'NEXT ROTATION',
    'PENDING',
  ];
  const lines = rows.map((row) => [
    row.provider,
    row.region,
    row.clusterId,
    row.projectId ?? '-',
    row.lastRotation === null ? 'never' : shortTime(row.lastRotation),
    row.rotationScheduled ? `yes${row.schedule ? ` (${row.schedule})` : ''}` : 'no',
    row.nextRotation === null ? '-' : shortTime(row.nextRotation),
    row.rotationPending ? 'yes' : 'no',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]?.length ?? 0)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), ...lines.map(render), '', LAST_ROTATION_NOTE].join('\n');
};

const LOCAL_SANDBOX = (env: NodeJS.ProcessEnv) => `http://127.0.0.1:${env.SANDBOX_AWS_PORT ?? 4566}`;
const isLoopback = (url: string): boolean => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
};

/** One line on why the report could not be made, and what to try. */
export const hintFor = (error: unknown, endpoint: string | undefined): string => {
  const name = error instanceof Error ? error.name : 'Error';
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const code = (error as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message))
    return `nothing answers at ${endpoint ?? 'the endpoint'}: is \`npm start\` running? (${name})`;
  if (name === 'CredentialsProviderError' || /credentials/i.test(message))
    return `no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or run \`aws sso login\` (${name}: ${message})`;
  if (/region is missing/i.test(message))
    return `no AWS region: pass --region or set AWS_REGION (${message})`;
  if (name === 'AccessDeniedException' || name === 'AccessDenied')
    return `the credentials may not list secrets: they need secretsmanager:ListSecrets (${name})`;
  return `Secrets Manager's ListSecrets failed: ${name}: ${message}`;
};

/** A cluster's attempts, oldest first, as a text table. */
export const formatHistory = (entries: HistoryEntry[]): string => {
  const header = ['AT', 'PROVIDER', 'REGION', 'CLUSTER', 'OUTCOME', 'ERROR', 'CALLER'];
  const lines = entries.map((entry) => [
    shortTime(entry.at),
    entry.provider,
    entry.region,
    entry.clusterId,
    entry.outcome,
    entry.errorCode ?? '-',
    entry.caller ?? '-',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]?.length ?? 0)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [render(header), ...lines.map(render)].join('\n');
};

/** `--cluster provider/region/clusterId`, or undefined when it is not of that form. */
export const parseCluster = (
  value: string,
): { provider: string; region: string; clusterId: string } | undefined => {
  const [provider, region, clusterId, ...rest] = value.split('/');
  if (!provider || !region || !clusterId || rest.length > 0) return undefined;
  return { provider, region, clusterId };
};

const USAGE = [
  'usage: npm run report -- [--stage <stage>] [--prefix <secret prefix>] [--region <region>] [--endpoint-url <url>]',
  '                         [--history-table <table>] [--dynamodb-endpoint-url <url>] [--json]',
  '       npm run report -- --history [--cluster <provider>/<region>/<clusterId>] [--stage <stage>] [--json] …',
].join('\n');

const LOCAL_DYNAMODB = (env: NodeJS.ProcessEnv) => `http://127.0.0.1:${env.SANDBOX_DYNAMODB_PORT ?? 4567}`;

/** A client's endpoint, region and, for a local simulator, stand-in credentials. */
const clientConfig = (
  endpoint: string | undefined,
  region: string | undefined,
  env: NodeJS.ProcessEnv,
): SecretsManagerClientConfig & DynamoDBClientConfig => {
  const config: SecretsManagerClientConfig & DynamoDBClientConfig = {};
  if (endpoint) config.endpoint = endpoint;
  if (region) config.region = region;
  if (endpoint && isLoopback(endpoint)) {
    // A local simulator: it checks no signature, but the SDK must sign with something.
    config.region ??= env.AWS_REGION ?? 'eu-central-1';
    if (!env.AWS_ACCESS_KEY_ID) config.credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
  }
  return config;
};

/**
 * The CLI: parses the arguments, makes the clients (the default credential chain and region; the
 * sandbox of `npm start` for stage `local` when no endpoint is given), prints the report, or with
 * `--history` every attempt. Answers the exit code.
 */
export const runReport = async (
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: { out: (text: string) => void; err: (text: string) => void },
): Promise<number> => {
  let args: {
    stage?: string;
    prefix?: string;
    region?: string;
    'endpoint-url'?: string;
    'history-table'?: string;
    'dynamodb-endpoint-url'?: string;
    history?: boolean;
    cluster?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    args = parseArgs({
      args: argv,
      options: {
        stage: { type: 'string' },
        prefix: { type: 'string' },
        region: { type: 'string' },
        'endpoint-url': { type: 'string' },
        'history-table': { type: 'string' },
        'dynamodb-endpoint-url': { type: 'string' },
        history: { type: 'boolean' },
        cluster: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const cluster = args.cluster === undefined ? undefined : parseCluster(args.cluster);
  if (args.cluster !== undefined && (!cluster || !args.history)) {
    io.err(
      `${cluster ? '--cluster goes with --history' : '--cluster must be <provider>/<region>/<clusterId>'}\n${USAGE}`,
    );
    return 2;
  }
  const stage = args.stage ?? env.STAGE ?? 'dev';
  const secretPrefix = reportPrefix({ stage, ...(args.prefix ? { secretPrefix: args.prefix } : {}) });
  const historyTable = args['history-table'] ?? defaultHistoryTable(stage);
  let endpoint = args['endpoint-url'] ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  let dynamoEndpoint = args['dynamodb-endpoint-url'] ?? env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  if (stage === 'local' && !args.history && !endpoint) {
    endpoint = LOCAL_SANDBOX(env);
    io.err(
      `stage local: reading the sandbox's Secrets Manager at ${endpoint} (\`npm start\`); ` +
        'pass --endpoint-url or set AWS_ENDPOINT_URL_SECRETS_MANAGER for another.',
    );
  }
  if (stage === 'local' && !dynamoEndpoint) {
    dynamoEndpoint = LOCAL_DYNAMODB(env);
    io.err(
      `stage local: reading the sandbox's rotation history at ${dynamoEndpoint} (\`npm start\`); ` +
        'pass --dynamodb-endpoint-url or set AWS_ENDPOINT_URL_DYNAMODB for another.',
    );
  }
  const client = new SecretsManagerClient(clientConfig(endpoint, args.region, env));
  const dynamo = new DynamoDBClient(clientConfig(dynamoEndpoint, args.region, env));
  try {
    if (args.history) {
      let entries: HistoryEntry[];
      try {
        entries = cluster
          ? await clusterHistory(dynamo, historyTable, cluster)
          : await stageHistory(dynamo, historyTable);
      } catch (error) {
        if (!isMissingTable(error)) throw error;
        io.err(
          `report: no rotation history table ${historyTable}: pass --history-table for a stage that names its own`,
        );
        return 1;
      }
      if (args.json) io.out(JSON.stringify(entries, null, 2));
      const what = cluster ? clusterOf(cluster) : `stage ${stage}`;
      if (entries.length === 0) {
        (args.json ? io.err : io.out)(`No rotation attempts of ${what} in ${historyTable}.`);
      } else if (!args.json) {
        io.out(`Rotation attempts of ${what} in ${historyTable}, oldest first:\n`);
        io.out(formatHistory(entries));
      }
      return 0;
    }
    const rows = await managedSecretsReport(client, {
      secretPrefix,
      history: { client: dynamo, table: historyTable },
      onHistoryUnavailable: (reason) =>
        io.err(
          `report: ${reason}; last rotations are the AWSCURRENT versions' dates (--history-table names another)`,
        ),
    });
    const region = await client.config.region();
    if (args.json) io.out(JSON.stringify(rows, null, 2));
    if (rows.length === 0) {
      // With --json, stdout stays the JSON (an empty list).
      (args.json ? io.err : io.out)(
        `No secrets tagged ${MANAGED_BY.Key}: ${MANAGED_BY.Value} under ${secretPrefix}/ in ${region}.`,
      );
      return 0;
    }
    if (!args.json) {
      io.out(`Secrets tagged ${MANAGED_BY.Key}: ${MANAGED_BY.Value} under ${secretPrefix}/ in ${region}:\n`);
      io.out(formatTable(rows));
    }
    return 0;
  } catch (error) {
    const what = args.history ? 'the rotation history: ' : '';
    io.err(`report: ${what}${hintFor(error, args.history ? dynamoEndpoint : endpoint)}`);
    return 1;
  } finally {
    client.destroy();
    dynamo.destroy();
  }
};

const invokedDirectly = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  process.exitCode = await runReport(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
}
