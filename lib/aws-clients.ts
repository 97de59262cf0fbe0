import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

// Created once per execution environment and reused across warm invocations. Endpoints come
// from the SDK's own AWS_ENDPOINT_URL_* variables (the local sandbox sets them).
//
// Each is constructed on its first use, not at import: a dry run (or a refused request) sends
// nothing to Secrets Manager, DynamoDB or EventBridge, and constructing the three clients was
// 5-10 ms of every cold start (profiled, docs/performance.md). The proxy keeps the client's type
// for the code that holds it.
const onFirstUse = <C extends object>(create: () => C): C => {
  let client: C | undefined;
  return new Proxy({} as C, {
    get: (_, key) => {
      client ??= create();
      const value = Reflect.get(client, key, client);
      return typeof value === 'function' ? value.bind(client) : value;
    },
  });
};

export const secretsManagerClient = onFirstUse(() => new SecretsManagerClient({}));
export const dynamoDbClient = onFirstUse(() => new DynamoDBClient({}));
export const eventBridgeClient = onFirstUse(() => new EventBridgeClient({}));
