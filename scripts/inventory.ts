import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { type FleetTarget, targetSchema } from '../sandbox/fleet-input.ts';
import { hintFor, managedSecretsReport, type ReportRow, reportPrefix } from './report.ts';

// `npm run --silent inventory -- --stage prod > fleet.jsonl`: the clusters a stage already manages,
// as a fleet inventory (JSON Lines, one target a line), from their secrets' names and identity
// tags (ListSecrets under the stage's SECRET_PREFIX; no secret value is ever read). Upload it under
// the fleet bucket's inventory/ and start the fleet state machine on it (docs/fleet.md).
//   npm run --silent inventory -- --stage prod [--prefix …] [--region …] [--endpoint-url …]
//                                 [--provider otc-css] [--format jsonl|csv]

/** A managed secret's cluster as a fleet target; its secret named, so that the same one is rotated. */
export const targetOf = (row: ReportRow): FleetTarget =>
  targetSchema.parse({
    provider: row.provider,
    region: row.region,
    clusterId: row.clusterId,
    ...(row.projectId ? { projectId: row.projectId } : {}),
    ...(row.account ? { account: row.account } : {}),
    secretId: row.secretName,
  });

const CSV_COLUMNS = ['provider', 'region', 'clusterId', 'projectId', 'account', 'secretId'] as const;
const csvCell = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/**
 * The targets as an inventory. CSV: only the columns every row fills (an empty cell would be an
 * empty string, which no envelope field accepts), so that the state machine reads what it needs.
 */
export const formatInventory = (targets: FleetTarget[], format: 'jsonl' | 'csv'): string => {
  if (format === 'jsonl') return targets.map((t) => `${JSON.stringify(t)}\n`).join('');
  const columns = CSV_COLUMNS.filter((column) => targets.every((t) => t[column] !== undefined));
  return [columns.join(','), ...targets.map((t) => columns.map((c) => csvCell(String(t[c]))).join(','))]
    .map((line) => `${line}\n`)
    .join('');
};

const USAGE =
  'usage: npm run --silent inventory -- [--stage <stage>] [--prefix <secret prefix>] [--provider <id>] [--format jsonl|csv] [--region <region>] [--endpoint-url <url>]';

export const runInventory = async (
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: { out: (text: string) => void; err: (text: string) => void },
): Promise<number> => {
  let args: Record<string, string | boolean | undefined>;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stage: { type: 'string' },
        prefix: { type: 'string' },
        provider: { type: 'string' },
        format: { type: 'string', default: 'jsonl' },
        region: { type: 'string' },
        'endpoint-url': { type: 'string' },
      },
    }).values;
  } catch (error) {
    io.err(`inventory: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const format = args.format as string;
  if (format !== 'jsonl' && format !== 'csv') {
    io.err(`inventory: --format must be jsonl or csv\n${USAGE}`);
    return 2;
  }
  const stage = (args.stage as string | undefined) ?? env.STAGE ?? 'dev';
  const secretPrefix = reportPrefix({
    stage,
    ...(args.prefix ? { secretPrefix: args.prefix as string } : {}),
  });
  let endpoint =
    (args['endpoint-url'] as string | undefined) ??
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER ??
    env.AWS_ENDPOINT_URL;
  if (!endpoint && stage === 'local') endpoint = `http://127.0.0.1:${env.SANDBOX_AWS_PORT ?? 4566}`;
  const config: SecretsManagerClientConfig = {};
  if (endpoint) config.endpoint = endpoint;
  if (args.region) config.region = args.region as string;
  if (endpoint && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(endpoint)) {
    // A local simulator: it checks no signature, but the SDK must sign with something.
    config.region ??= env.AWS_REGION ?? 'eu-central-1';
    if (!env.AWS_ACCESS_KEY_ID) config.credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };
  }
  const client = new SecretsManagerClient(config);
  try {
    const rows = await managedSecretsReport(client, { secretPrefix });
    const targets = rows.filter((row) => !args.provider || row.provider === args.provider).map(targetOf);
    io.out(formatInventory(targets, format));
    io.err(`inventory: ${targets.length} cluster(s) under ${secretPrefix}/`);
    return 0;
  } catch (error) {
    io.err(`inventory: ${hintFor(error, endpoint)}`);
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
  runInventory(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(`${text}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
