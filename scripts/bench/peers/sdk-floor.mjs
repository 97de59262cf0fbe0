// Peer "sdk-floor": the least any handler of this project can load. The four AWS SDK v3 clients
// it needs (SSM: credentials; Secrets Manager: passwords; DynamoDB: the lease; EventBridge:
// outcome events), each constructed at load with the commands it sends, and nothing more.
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

const loaded = [
  new SSMClient({}),
  new SecretsManagerClient({}),
  new DynamoDBClient({}),
  new EventBridgeClient({}),
  GetParametersCommand,
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

export const handler = async () => ({ statusCode: 200, body: String(loaded.length) });
