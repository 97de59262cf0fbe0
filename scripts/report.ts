import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  paginateListSecrets,
  type SecretListEntry,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { readConfig } from '../lib/config.ts';
import { ACCOUNT_TAG, AWSCURRENT, AWSPENDING, MANAGED_BY } from '../lib/rotation/secret-store.ts';

// `npm run report -- --stage prod`: which clusters were rotated when. Lists the secrets the project
// keeps under a stage's prefix from Secrets Manager's metadata alone (ListSecrets: tags, dates,
// rotation settings, staging labels); no secret value is ever read, so no password can be printed.
//   npm run report -- --stage prod [--prefix cluster-password-reset] [--region eu-central-1]
//                     [--endpoint-url http://127.0.0.1:4566] [--json]

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
   * The later of Secrets Manager's LastRotatedDate and LastChangedDate (ISO 8601); null while the
   * secret's first version, which holds no password, is still AWSCURRENT (never rotated).
   */
  lastRotation: string | null;
  lastRotationSource: 'LastRotatedDate' | 'LastChangedDate' | null;
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
}

export const LAST_ROTATION_NOTE = [
  "Last rotation: the later of Secrets Manager's LastRotatedDate and LastChangedDate (metadata only, no",
  'secret value is read); LastChangedDate counts any change, a pending version or a tag included.',
  "'never': the secret's first version, which holds no password, is still AWSCURRENT.",
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
  // Every rotation the project finishes moves AWSCURRENT off the first version, which then (or a
  // later one) carries AWSPREVIOUS; Secrets Manager's own rotation also sets LastRotatedDate.
  const rotated = entry.LastRotatedDate !== undefined || stages.some((s) => s.includes('AWSPREVIOUS'));
  const [changed, rotatedAt] = [entry.LastChangedDate, entry.LastRotatedDate];
  const source =
    !rotated || (changed === undefined && rotatedAt === undefined)
      ? null
      : rotatedAt !== undefined && (changed === undefined || rotatedAt >= changed)
        ? 'LastRotatedDate'
        : 'LastChangedDate';
  const scheduled = entry.RotationEnabled === true;
  return {
    secretName: name,
    provider,
    region,
    clusterId,
    projectId: tags['project-id'] || null,
    account: tags[ACCOUNT_TAG] || null,
    lastRotation: source === null ? null : iso(source === 'LastRotatedDate' ? rotatedAt : changed),
    lastRotationSource: source,
    rotationScheduled: scheduled,
    schedule: scheduled ? scheduleOf(entry) : null,
    nextRotation: scheduled ? iso(entry.NextRotationDate) : null,
    rotationPending: stages.some((s) => s.includes(AWSPENDING) && !s.includes(AWSCURRENT)),
  };
};

/**
 * The report's rows: every secret under the prefix that carries the project's `managed-by` tag,
 * by provider, region and cluster. Only ListSecrets is called (every page of it).
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
  for await (const page of pages) {
    for (const entry of page.SecretList ?? []) {
      const row = rowOf(entry, secretPrefix);
      if (row) rows.push(row);
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

const USAGE =
  'usage: npm run report -- [--stage <stage>] [--prefix <secret prefix>] [--region <region>] [--endpoint-url <url>] [--json]';

/**
 * The CLI: parses the arguments, makes the client (the default credential chain and region; the
 * sandbox of `npm start` for stage `local` when no endpoint is given), prints the report.
 * Answers the exit code.
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
  const stage = args.stage ?? env.STAGE ?? 'dev';
  const secretPrefix = reportPrefix({ stage, ...(args.prefix ? { secretPrefix: args.prefix } : {}) });
  let endpoint = args['endpoint-url'] ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  if (!endpoint && stage === 'local') {
    endpoint = LOCAL_SANDBOX(env);
    io.err(
      `stage local: reading the sandbox's Secrets Manager at ${endpoint} (\`npm start\`); ` +
        'pass --endpoint-url or set AWS_ENDPOINT_URL_SECRETS_MANAGER for another.',
    );
  }
  const config: SecretsManagerClientConfig = {};
  if (endpoint) config.endpoint = endpoint;
  if (args.region) config.region = args.region;
  if (endpoint && isLoopback(endpoint)) {
    // A local simulator: it checks no signature, but the SDK must sign with something.
    config.region ??= env.AWS_REGION ?? 'eu-central-1';
    if (!env.AWS_ACCESS_KEY_ID) config.credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
  }
  const client = new SecretsManagerClient(config);
  try {
    const rows = await managedSecretsReport(client, { secretPrefix });
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
    io.err(`report: ${hintFor(error, endpoint)}`);
    return 1;
  } finally {
    client.destroy();
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
