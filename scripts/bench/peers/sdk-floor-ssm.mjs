// Peer "sdk-floor-ssm": the least any handler can do before a first answer. sdk-floor.mjs, plus
// the one request every handler makes first, even for a dry run: the account's credentials,
// read from SSM (GetParameters, decrypted). PEER_CREDENTIALS_PARAMETER names the parameter; the
// AWS endpoint overrides point it at the sandbox.
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
const loaded = [
  ssm,
  new SecretsManagerClient({}),
  new DynamoDBClient({}),
  new EventBridgeClient({}),
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  GetItemCommand,
  PutItemCommand,
  DeleteItemCommand,
  PutEventsCommand,
];

export const handler = async () => {
  const answer = await ssm.send(
    new GetParametersCommand({ Names: [process.env.PEER_CREDENTIALS_PARAMETER], WithDecryption: true }),
  );
  const found = answer.Parameters?.length ?? 0;
  return { statusCode: found === 1 ? 200 : 500, body: String(loaded.length + found) };
};
