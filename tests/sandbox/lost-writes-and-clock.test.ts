import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';

// Two things the history explorer leans on. A write applied whose answer is lost must make the AWS
// SDK retry it, and the retry must meet the first attempt's write (what a conditional write with
// ALL_OLD then answers is its own first write). And time must pass on demand: the lock table's
// records expire as DynamoDB's TTL would, and Secrets Manager's dates age with them.

let sandbox: Sandbox;
let dynamo: DynamoDBClient;
let secrets: SecretsManagerClient;
const TABLE = 'cluster-password-reset-local-leases';
const DAY_S = 86_400;

beforeAll(async () => {
  sandbox = await startSandbox();
  const common = {
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
  };
  // The SDK's defaults: three attempts, a lost connection retried.
  dynamo = new DynamoDBClient({ ...common, endpoint: sandbox.urls.dynamodb });
  secrets = new SecretsManagerClient({ ...common, endpoint: sandbox.urls.aws });
});

afterAll(async () => {
  dynamo.destroy();
  secrets.destroy();
  await sandbox.close();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

const item = async (pk: string) =>
  (await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true })))
    .Item;

describe('a write applied whose answer is lost (applyThenDrop, once)', () => {
  it('DynamoDB: the SDK retries the conditional put, and its ALL_OLD is the first attempt’s own write', async () => {
    sandbox.dynamoFaults.add({
      operation: 'DynamoDB_20120810.PutItem',
      bodyPattern: '"pk":\\{"S":"lease#retried',
      applyThenDrop: true,
    });
    const written = { pk: { S: 'lease#retried' }, owner: { S: 'v1' }, holder: { S: 'h1' } };
    const answer = await dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: written,
        ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: 'v1' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(answer.$metadata.attempts).toBe(2);
    expect(answer.Attributes).toEqual(written);
    expect(sandbox.dynamoLostWrites.writes).toEqual([
      { target: 'DynamoDB_20120810.PutItem', invocationId: expect.any(String), retriedBy: 2 },
    ]);
  });

  it('Secrets Manager: the SDK retries PutSecretValue, which meets its own version and answers it', async () => {
    sandbox.aws.createSecret({ Name: 'lost-write', SecretString: '{"password":"placeholder-1"}' });
    sandbox.aws.faults.add({ operation: 'secretsmanager.PutSecretValue', applyThenDrop: true });
    const answer = await secrets.send(
      new PutSecretValueCommand({
        SecretId: 'lost-write',
        ClientRequestToken: '11111111-1111-4111-8111-111111111111',
        SecretString: '{"password":"not-a-real-one-1"}',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(answer.$metadata.attempts).toBe(2);
    expect(answer.VersionStages).toEqual(['AWSPENDING']);
    expect(sandbox.aws.lostWrites.writes).toEqual([
      { target: 'secretsmanager.PutSecretValue', invocationId: expect.any(String), retriedBy: 2 },
    ]);
  });

  it('a call that is never retried stays marked as lost only', async () => {
    const once = new DynamoDBClient({
      region: 'eu-central-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
      endpoint: sandbox.urls.dynamodb,
      maxAttempts: 1,
    });
    sandbox.dynamoFaults.add({ operation: 'DynamoDB_20120810.PutItem', applyThenDrop: true });
    await expect(
      once.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'key#once' } } })),
    ).rejects.toThrow();
    once.destroy();
    expect(sandbox.dynamoLostWrites.writes.at(-1)).toEqual({
      target: 'DynamoDB_20120810.PutItem',
      invocationId: expect.any(String),
    });
    expect((await item('key#once'))?.pk?.S).toBe('key#once');
  });
});

describe('advanceClock', () => {
  it('expires the items whose TTL has passed and ages the others, cumulatively', async () => {
    const put = (pk: string, expiresAt?: number) =>
      dynamo.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            pk: { S: pk },
            ...(expiresAt === undefined ? {} : { expiresAt: { N: String(expiresAt) } }),
          },
        }),
      );
    const start = nowSeconds();
    await put('clock#lease', start + 1);
    await put('clock#record', start + 7 * DAY_S);
    await put('clock#forever');
    expect(await sandbox.advanceClock(2_000)).toEqual({ expired: 1 });
    expect(await item('clock#lease')).toBeUndefined();
    expect(Number((await item('clock#record'))?.expiresAt?.N)).toBe(start + 7 * DAY_S - 2);
    // Six days, then a day more: seven days and two seconds in all, past the record's time.
    expect(await sandbox.advanceClock(6 * DAY_S * 1000)).toEqual({ expired: 0 });
    expect(await sandbox.advanceClock(DAY_S * 1000)).toEqual({ expired: 1 });
    expect(await item('clock#record')).toBeUndefined();
    expect((await item('clock#forever'))?.pk?.S).toBe('clock#forever');
    // An item written now counts from now.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'clock#forever' } },
        UpdateExpression: 'SET expiresAt = :t',
        ExpressionAttributeValues: { ':t': { N: String(nowSeconds() + 10) } },
      }),
    );
    expect(await sandbox.advanceClock(5_000)).toEqual({ expired: 0 });
    const left = await dynamo.send(new ScanCommand({ TableName: TABLE }));
    expect(left.Items?.map((i) => i.pk?.S)).toContain('clock#forever');
    expect(await sandbox.advanceClock(6_000)).toEqual({ expired: 1 });
  });

  it('ages Secrets Manager’s versions, and the control route does the same', async () => {
    sandbox.aws.createSecret({ Name: 'clock-secret', SecretString: '{"password":"placeholder-2"}' });
    const version = () => [...(sandbox.aws.secrets.get('clock-secret')?.versions.values() ?? [])][0];
    const created = version()?.created as number;
    const control = (body: unknown) =>
      fetch(`${sandbox.urls.aws}/_sandbox/clock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'clock#minute' }, expiresAt: { N: String(nowSeconds() + 30) } },
      }),
    );
    const answer = await control({ advanceSeconds: 60 });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ advancedSeconds: 60, expired: 1 });
    expect(version()?.created).toBe(created - 60_000);
    const bad = await control({ advanceSeconds: -1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: 'advanceSeconds must be a positive number' });
  });
});
