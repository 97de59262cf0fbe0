import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseTable } from '../../../lib/rotation/lease-table.ts';

const ddb = mockClient(DynamoDBClient);
const leases = new LeaseTable(new DynamoDBClient({ region: 'eu-central-1' }), 'leases', 120);
const NOW = 1_795_000_000_000;
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'no', $metadata: {} });

describe('LeaseTable', () => {
  beforeEach(() => ddb.reset());

  it('takes the lease with a conditional write that only an expired lease lets through', async () => {
    ddb.on(PutItemCommand).resolves({});
    await leases.acquire('lease#ncloud-cdss#KR#1', 'owner-1', NOW);
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Item: { pk: { S: 'lease#ncloud-cdss#KR#1' }, owner: { S: 'owner-1' }, expiresAt: { N: '1795000120' } },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: '1795000000' } },
    });
  });

  it('answers ROTATION_IN_PROGRESS while another holder has it', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());
    await expect(leases.acquire('k', 'o', NOW)).rejects.toMatchObject({
      code: 'ROTATION_IN_PROGRESS',
      retryable: true,
    });
  });

  it('releases only its own lease', async () => {
    ddb.on(DeleteItemCommand).resolves({});
    await leases.release('k', 'owner-1');
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Key: { pk: { S: 'k' } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: 'owner-1' } },
    });
  });

  it('leaves alone a lease taken over by someone else after expiry', async () => {
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(leases.release('k', 'owner-1')).resolves.toBeUndefined();
  });

  it('records a result for a week and reads it back until it expires', async () => {
    ddb.on(PutItemCommand).resolves({});
    await leases.recordResult('result#x', { ok: true }, NOW);
    const item = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(item).toEqual({
      pk: { S: 'result#x' },
      result: { S: '{"ok":true}' },
      expiresAt: { N: String(1_795_000_000 + 7 * 24 * 3600) },
    });
    ddb.on(GetItemCommand).resolves({ Item: item });
    expect(await leases.findResult('result#x', NOW)).toEqual({ ok: true });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Key: { pk: { S: 'result#x' } },
      ConsistentRead: true,
    });
    expect(await leases.findResult('result#x', NOW + 8 * 24 * 3600 * 1000)).toBeUndefined();
  });

  it('maps other DynamoDB failures to the retryable store error', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('x'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(leases.acquire('k', 'o')).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      retryable: true,
    });
  });
});
