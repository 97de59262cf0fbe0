import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

// Created once per execution environment and reused across warm invocations. Endpoints come
// from the SDK's own AWS_ENDPOINT_URL_* variables (the local sandbox sets them).
export const secretsManagerClient = new SecretsManagerClient({});
export const dynamoDbClient = new DynamoDBClient({});
export const eventBridgeClient = new EventBridgeClient({});
