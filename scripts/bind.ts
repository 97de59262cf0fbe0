// `npm run bind`: an operator's three acts on a cluster's binding (lib/rotation/binding.ts), which
// the functions otherwise write once and never change:
//
//   npm run bind -- --stage prod --cluster otc-css/eu-de/<id> --account team-b --from team-a
//       moves a bound cluster to another credentials account (the binding must name --from);
//   npm run bind -- --stage prod --cluster otc-css/eu-de/<id> --account team-a [--secret <name>]
//       binds a cluster's secret that an earlier release created (its default name, or the name
//       given), if no rotation has bound it yet: Secrets Manager's rotation refuses an unbound
//       secret, and a request binds only a cluster's default name;
//   npm run bind -- --stage prod --cluster otc-css/eu-de/<id> --account team-a --unbind
//       unbinds a cluster (the binding must name --account) whose bound secret was deleted or
//       created again: requests are refused until then; its next rotation binds it afresh.
//
// It writes the lease table only (`cluster-password-reset-{stage}-leases`, or --table) and reads
// the secret (DescribeSecret), with the shell's AWS credentials; `--stage local` uses npm start's
// sandbox.
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Bindings } from '../lib/rotation/binding.ts';
import { RecordTable } from '../lib/rotation/record-table.ts';
import { SecretStore } from '../lib/rotation/secret-store.ts';

const USAGE =
  'usage: npm run bind -- --stage <stage> --cluster <provider>/<region>/<clusterId> --account <account> [--from <account> | --secret <name> | --unbind] [--prefix <secret prefix>] [--table <lease table>]';

const fail = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};

const { values } = parseArgs({
  options: {
    stage: { type: 'string' },
    cluster: { type: 'string' },
    account: { type: 'string' },
    from: { type: 'string' },
    unbind: { type: 'boolean', default: false },
    prefix: { type: 'string' },
    secret: { type: 'string' },
    table: { type: 'string' },
  },
});
const stage = values.stage ?? fail('--stage is required');
const [provider, region, clusterId, ...rest] = (values.cluster ?? fail('--cluster is required')).split('/');
if (!provider || !region || !clusterId || rest.length > 0)
  fail('--cluster must be <provider>/<region>/<clusterId>');
const account = values.account ?? fail('--account is required');
if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(account))
  fail('--account must be 1-64 letters, digits, ".", "_" or "-"');

const local = stage === 'local';
const sandbox = (endpoint: string) =>
  local
    ? {
        endpoint,
        region: 'eu-central-1',
        credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      }
    : {};
const client = new DynamoDBClient(
  sandbox(
    process.env.AWS_ENDPOINT_URL_DYNAMODB ?? `http://127.0.0.1:${process.env.SANDBOX_DYNAMODB_PORT ?? 4567}`,
  ),
);
const secretsClient = new SecretsManagerClient(
  sandbox(
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER ??
      `http://127.0.0.1:${process.env.SANDBOX_AWS_PORT ?? 4566}`,
  ),
);
const secrets = new SecretStore(secretsClient);
const bindings = new Bindings(
  new RecordTable(client, values.table ?? `cluster-password-reset-${stage}-leases`),
);
const target = { provider: provider as string, region: region as string, clusterId: clusterId as string };

const existing = await bindings.read(target);
if (values.unbind) {
  if (values.from !== undefined || values.secret !== undefined) fail('--unbind takes no --from or --secret');
  if (!existing) fail(`${values.cluster} is not bound: nothing to unbind`);
  if (!(await bindings.unbind(target, account)))
    fail(`${values.cluster} is bound to account "${existing?.account}", not "${account}": nothing changed`);
  // What the operator checks: a secret under the name now that is not the bound one was created by
  // someone else, and the next rotation would take it as the cluster's: delete it first.
  const now = await secrets.describe(existing?.secretName as string);
  console.log(JSON.stringify({ cluster: values.cluster, unbound: existing, secretNow: now?.arn ?? null }));
} else if (values.from !== undefined) {
  if (!existing) fail(`${values.cluster} is not bound yet: bind it without --from`);
  if (!(await bindings.moveAccount(target, values.from, account)))
    fail(
      `${values.cluster} is bound to account "${existing?.account}", not "${values.from}": nothing changed`,
    );
  console.log(
    JSON.stringify({
      cluster: values.cluster,
      secretName: existing?.secretName,
      account,
      movedFrom: values.from,
    }),
  );
} else {
  if (existing)
    fail(`${values.cluster} is bound already (account "${existing.account}"): move it with --from`);
  const root = `${values.prefix ?? `cluster-password-reset/${stage}`}/${provider}/`;
  const secretName = values.secret ?? `${root}${region}/${clusterId}`;
  if (!secretName.startsWith(root)) fail(`--secret must name a secret under ${root}`);
  // Bound with its ARN, as a rotation binds it: a secret deleted or created again is then refused.
  const secret = await secrets.describe(secretName);
  if (!secret) fail(`no secret ${secretName}: a cluster without one is bound by its first rotation`);
  const bound = await bindings.bind(target, { secretName, secretArn: secret?.arn as string, account });
  console.log(JSON.stringify({ cluster: values.cluster, ...bound }));
}
client.destroy();
secretsClient.destroy();
