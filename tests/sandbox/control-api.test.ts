import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';

// The control API reaches every fault queue, so that `npm start` users can fail any call on demand.

let sandbox: Sandbox;
let dynamo: DynamoDBClient;
const TABLE = 'cluster-password-reset-local-leases';

beforeAll(async () => {
  sandbox = await startSandbox();
  dynamo = new DynamoDBClient({
    endpoint: sandbox.urls.dynamodb,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  dynamo.destroy();
  await sandbox.close();
});

const control = (path: string, body: unknown) =>
  fetch(`${sandbox.urls.aws}/_sandbox${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /_sandbox/dynamodb/faults', () => {
  it('queues a DynamoDB fault that picks its item by bodyPattern: applied, but the answer is lost', async () => {
    const answer = await control('/dynamodb/faults', {
      operation: 'DynamoDB_20120810.PutItem',
      bodyPattern: '"pk":\\{"S":"lease#',
      applyThenDrop: true,
    });
    expect(answer.status).toBe(200);
    const put = (pk: string) =>
      dynamo.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk } } }));
    // Another item's write is not the one picked.
    await expect(put('key#otc-css#k1')).resolves.toBeDefined();
    await expect(put('lease#otc-css#eu-de#c1')).rejects.toThrow();
    const stored = await dynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'lease#otc-css#eu-de#c1' } } }),
    );
    expect(stored.Item?.pk?.S).toBe('lease#otc-css#eu-de#c1');
    // One fault, taken once.
    await expect(put('lease#otc-css#eu-de#c2')).resolves.toBeDefined();
  });
});
