// Peer "sdk-floor-preflight": sdk-floor-ssm that also makes, in the same order, the other reads a
// dry run makes before it answers, and nothing else: the cluster's binding (DynamoDB GetItem), the
// credentials (SSM GetParameters, decrypted), the request key's record (DynamoDB GetItem), the
// provider's cluster state (one HTTP GET through Node's fetch, as the providers' clients use; the
// peer neither signs it nor reads what it says), the secret (DescribeSecret, of a cluster never
// rotated: not found) and the binding again (to compare the secret found with it). The limit for a
// dry run that is a preflight: the calls' own cost, with no validation, no middleware, no logging.
// The bench sets PEER_TABLE, PEER_BINDING_KEY, PEER_KEY_RECORD_KEY, PEER_CREDENTIALS_PARAMETER,
// PEER_PROVIDER_URL and PEER_SECRET_ID, and the AWS endpoint overrides as for the handlers.
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';

const ssm = new SSMClient({});
const secrets = new SecretsManagerClient({});
const dynamodb = new DynamoDBClient({});
const clients = [ssm, secrets, dynamodb, new EventBridgeClient({})];
const commands = [
  GetParametersCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  PutItemCommand,
  GetItemCommand,
  DeleteItemCommand,
  PutEventsCommand,
];

const env = process.env;
const getItem = (pk) =>
  dynamodb.send(
    new GetItemCommand({ TableName: env.PEER_TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );

// Read once per process and kept, as the handlers keep theirs (@middy/ssm's cache): a warm
// invocation makes the other four requests only.
let cached;
const credentials = () => {
  cached ??= ssm.send(
    new GetParametersCommand({ Names: [env.PEER_CREDENTIALS_PARAMETER], WithDecryption: true }),
  );
  return cached;
};

export const handler = async () => {
  await getItem(env.PEER_BINDING_KEY);
  const { Parameters = [] } = await credentials();
  await getItem(env.PEER_KEY_RECORD_KEY);
  const cluster = await fetch(env.PEER_PROVIDER_URL, { signal: AbortSignal.timeout(10_000) });
  await cluster.text();
  // A cluster never rotated has no secret yet: Secrets Manager answers ResourceNotFoundException.
  const secret = await secrets
    .send(new DescribeSecretCommand({ SecretId: env.PEER_SECRET_ID }))
    .catch((error) =>
      error.name === 'ResourceNotFoundException' ? { ARN: 'none yet' } : Promise.reject(error),
    );
  // The binding again, to compare the secret found with the one bound.
  await getItem(env.PEER_BINDING_KEY);
  return {
    statusCode: Parameters.length === 1 && cluster.status < 500 && secret.ARN !== undefined ? 200 : 500,
    body: String(clients.length + commands.length + Parameters.length),
  };
};
