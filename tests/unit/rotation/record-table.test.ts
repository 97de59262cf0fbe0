import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ResetError } from '../../../lib/errors.ts';
import { RecordTable } from '../../../lib/rotation/record-table.ts';
import { rotationWorld } from '../../support/rotation-world.ts';

const world = rotationWorld();
const table = () => world.recordTable();
const PK = 'version#some-secret#v1';
const lastInput = () => world.ddbInputs.at(-1);

describe('the record table', () => {
  it('reads an item as it is now (a consistent read), and nothing for a key never written', async () => {
    await world.given.item(PK, { state: 'sent' });
    expect(await table().get(PK)).toEqual({ pk: { S: PK }, state: { S: 'sent' } });
    expect(lastInput()).toEqual({
      command: 'GetItem',
      input: { TableName: world.tableName, Key: { pk: { S: PK } }, ConsistentRead: true },
    });
    expect(await table().get('version#some-secret#never')).toBeUndefined();
  });

  it('writes a whole item under its key, sending no condition when it has none', async () => {
    await world.given.item(PK, { state: 'sent', error: 'old' });
    expect(await table().put(PK, { state: { S: 'applied' } })).toBe(true);
    expect(lastInput()).toEqual({
      command: 'PutItem',
      input: { TableName: world.tableName, Item: { pk: { S: PK }, state: { S: 'applied' } } },
    });
    expect(await world.rawItem(PK)).toEqual({ pk: { S: PK }, state: { S: 'applied' } });
  });

  it('answers false for a put whose condition does not hold, and leaves the item as it was', async () => {
    await world.given.item(PK, { state: 'sent' });
    const condition = {
      expression: 'attribute_not_exists(pk) OR #state = :state',
      names: { '#state': 'state' },
      values: { ':state': { S: 'discarded' } },
    };
    expect(await table().put(PK, { state: { S: 'applied' } }, condition)).toBe(false);
    expect(lastInput()).toEqual({
      command: 'PutItem',
      input: {
        TableName: world.tableName,
        Item: { pk: { S: PK }, state: { S: 'applied' } },
        ConditionExpression: 'attribute_not_exists(pk) OR #state = :state',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':state': { S: 'discarded' } },
      },
    });
    expect(await world.rawItem(PK)).toEqual({ pk: { S: PK }, state: { S: 'sent' } });
  });

  it('sets and removes attributes in one update, its names and values beside the condition’s', async () => {
    await world.given.item(PK, { state: 'sent', error: 'e', expiresAt: 1, owner: 'o' });
    expect(
      await table().update(
        PK,
        { set: { state: { S: 'applied' }, holder: { S: 'h' } }, remove: ['error', 'expiresAt'] },
        { expression: '#state = :sent', names: { '#state': 'state' }, values: { ':sent': { S: 'sent' } } },
      ),
    ).toBe(true);
    expect(lastInput()).toEqual({
      command: 'UpdateItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: PK } },
        UpdateExpression:
          'SET #set_state = :set_state, #set_holder = :set_holder REMOVE #remove_error, #remove_expiresAt',
        ConditionExpression: '#state = :sent',
        ExpressionAttributeNames: {
          '#set_state': 'state',
          '#set_holder': 'holder',
          '#remove_error': 'error',
          '#remove_expiresAt': 'expiresAt',
          '#state': 'state',
        },
        ExpressionAttributeValues: {
          ':set_state': { S: 'applied' },
          ':set_holder': { S: 'h' },
          ':sent': { S: 'sent' },
        },
      },
    });
    expect(await world.rawItem(PK)).toEqual({
      pk: { S: PK },
      state: { S: 'applied' },
      holder: { S: 'h' },
      owner: { S: 'o' },
    });
  });

  it('sends no attribute values for an update that only removes (DynamoDB refuses an empty map)', async () => {
    await world.given.item(PK, { state: 'sent', expiresAt: 1 });
    expect(await table().update(PK, { remove: ['expiresAt'] }, { expression: 'attribute_exists(pk)' })).toBe(
      true,
    );
    expect(lastInput()).toEqual({
      command: 'UpdateItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: PK } },
        UpdateExpression: 'REMOVE #remove_expiresAt',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#remove_expiresAt': 'expiresAt' },
      },
    });
    expect(await world.rawItem(PK)).toEqual({ pk: { S: PK }, state: { S: 'sent' } });
  });

  it('answers false for an update whose condition does not hold, and writes nothing', async () => {
    expect(
      await table().update(PK, { set: { state: { S: 'applied' } } }, { expression: 'attribute_exists(pk)' }),
    ).toBe(false);
    expect(await world.rawItem(PK)).toBeUndefined();
  });

  it('deletes an item, or answers false and keeps it when the condition does not hold', async () => {
    await world.given.item(PK, { owner: 'version-1' });
    const sameOwner = (owner: string) => ({
      expression: '#owner = :owner',
      names: { '#owner': 'owner' },
      values: { ':owner': { S: owner } },
    });
    expect(await table().delete(PK, sameOwner('version-2'))).toBe(false);
    expect(await world.rawItem(PK)).toEqual({ pk: { S: PK }, owner: { S: 'version-1' } });
    expect(await table().delete(PK, sameOwner('version-1'))).toBe(true);
    expect(lastInput()).toEqual({
      command: 'DeleteItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: PK } },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: 'version-1' } },
      },
    });
    expect(await world.rawItem(PK)).toBeUndefined();
    expect(await table().delete(PK)).toBe(true);
    expect(lastInput()).toEqual({
      command: 'DeleteItem',
      input: { TableName: world.tableName, Key: { pk: { S: PK } } },
    });
  });

  describe('maps any other DynamoDB failure to SECRET_STORE_FAILED, naming the operation and the exception', () => {
    const PUT = { state: { S: 'applied' } };
    it.each([
      ['GetItem', (t: RecordTable) => t.get(PK)],
      ['PutItem', (t: RecordTable) => t.put(PK, PUT)],
      ['PutItem', (t: RecordTable) => t.put(PK, PUT, { expression: 'attribute_not_exists(pk)' })],
      ['UpdateItem', (t: RecordTable) => t.update(PK, { set: PUT })],
      ['DeleteItem', (t: RecordTable) => t.delete(PK)],
    ])('%s', async (command, call) => {
      world.given.writeFails({ command, keyPrefix: 'version#', times: 1 });
      const error = await call(table()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResetError);
      expect(error).toMatchObject({
        code: 'SECRET_STORE_FAILED',
        retryable: true,
        message: `DynamoDB ${command} on the lease table failed (ValidationException)`,
      });
      // The exception itself stays with the error, for the log.
      expect((error as Error).cause).toMatchObject({
        name: 'ValidationException',
        message: 'injected failure',
      });
    });

    it('names a failure that is not an Error "unknown error"', async () => {
      const broken = { send: () => Promise.reject('socket hang up') } as unknown as DynamoDBClient;
      await expect(new RecordTable(broken, 'table').get(PK)).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'DynamoDB GetItem on the lease table failed (unknown error)',
        cause: 'socket hang up',
      });
    });
  });
});
