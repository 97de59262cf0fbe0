import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseTable } from '../../../lib/rotation/lease-table.ts';

const ddb = mockClient(DynamoDBClient);
const leases = new LeaseTable(new DynamoDBClient({ region: 'eu-central-1' }), 'leases', 120);
const NOW = 1_795_000_000_000;
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'no', $metadata: {} });
const LEASE = { owner: 'version-1', holder: 'request-1/nonce', holderDeadline: NOW + 29_000 };
const unexpired = { N: String(NOW / 1000 + 60) };

describe('LeaseTable: the cluster lease', () => {
  beforeEach(() => ddb.reset());

  it('takes the lease with one conditional write: free, expired, or re-entered by its own rotation', async () => {
    ddb.on(PutItemCommand).resolves({});
    expect(await leases.acquire('lease#ncloud-cdss#KR#1', LEASE, NOW)).toBe('acquired');
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Item: {
        pk: { S: 'lease#ncloud-cdss#KR#1' },
        owner: { S: 'version-1' },
        holder: { S: 'request-1/nonce' },
        holderDeadline: { N: String(NOW + 29_000) },
        leaseUntil: { N: String(NOW + 120_000) },
        expiresAt: { N: '1795000120' },
      },
      ConditionExpression:
        'attribute_not_exists(pk) OR leaseUntil < :nowMs OR (#owner = :owner AND (holder = :holder OR holderDeadline < :nowMs))',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':nowMs': { N: String(NOW) },
        ':owner': { S: 'version-1' },
        ':holder': { S: 'request-1/nonce' },
      },
      ReturnValues: 'ALL_OLD',
    });
  });

  it('tells a lease left by an earlier invocation of the same rotation (re-entered) from a fresh one', async () => {
    ddb.on(PutItemCommand).resolves({
      Attributes: {
        owner: { S: 'version-1' },
        holder: { S: 'dead-request/nonce' },
        leaseUntil: { N: String(NOW + 1) },
      },
    });
    expect(await leases.acquire('k', LEASE, NOW)).toBe('reentered');
    // The SDK's retry of our own applied write is not a re-entry of someone else's attempt.
    ddb.on(PutItemCommand).resolves({
      Attributes: {
        owner: { S: 'version-1' },
        holder: { S: 'request-1/nonce' },
        leaseUntil: { N: String(NOW + 1) },
      },
    });
    expect(await leases.acquire('k', LEASE, NOW)).toBe('acquired');
    // An expired lease, even of this rotation, is simply taken.
    ddb.on(PutItemCommand).resolves({
      Attributes: { owner: { S: 'version-1' }, holder: { S: 'x' }, leaseUntil: { N: String(NOW - 1) } },
    });
    expect(await leases.acquire('k', LEASE, NOW)).toBe('acquired');
  });

  it('continues a lease an earlier step handed over with nothing in doubt, and only that', async () => {
    const handedOver = (mustExpire?: boolean) => ({
      Attributes: {
        owner: { S: 'version-1' },
        holder: { S: 'step-1/nonce' },
        holderDeadline: { N: '0' },
        leaseUntil: { N: String(NOW + 1) },
        ...(mustExpire === undefined ? {} : { mustExpire: { BOOL: mustExpire } }),
      },
    });
    ddb.on(PutItemCommand).resolves(handedOver(false));
    expect(await leases.acquire('k', LEASE, NOW)).toBe('continued');
    ddb.on(PutItemCommand).resolves(handedOver(true));
    expect(await leases.acquire('k', LEASE, NOW)).toBe('reentered');
    // A lease handed over before the attribute existed was handed over after an unknown outcome.
    ddb.on(PutItemCommand).resolves(handedOver());
    expect(await leases.acquire('k', LEASE, NOW)).toBe('reentered');
  });

  it('answers ROTATION_IN_PROGRESS while another rotation, or a live invocation of this one, has it', async () => {
    ddb.on(PutItemCommand).rejects(conditionFailed());
    await expect(leases.acquire('k', LEASE, NOW)).rejects.toMatchObject({
      code: 'ROTATION_IN_PROGRESS',
      retryable: true,
    });
  });

  it('releases only what this invocation holds', async () => {
    ddb.on(DeleteItemCommand).resolves({});
    await leases.release('k', LEASE);
    expect(ddb.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Key: { pk: { S: 'k' } },
      ConditionExpression: '#owner = :owner AND holder = :holder',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: 'version-1' }, ':holder': { S: 'request-1/nonce' } },
    });
    ddb.on(DeleteItemCommand).rejects(conditionFailed());
    await expect(leases.release('k', LEASE)).resolves.toBeUndefined();
  });

  it.each([
    [undefined, true],
    [{ mustExpire: true }, true],
    [{ mustExpire: false }, false],
  ])(
    'hands a lease over to the same rotation (%j): ends the holder, keeps the expiry',
    async (options, mustExpire) => {
      ddb.on(UpdateItemCommand).resolves({});
      await leases.handOver('k', LEASE, options);
      expect(ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input).toEqual({
        TableName: 'leases',
        Key: { pk: { S: 'k' } },
        UpdateExpression: 'SET holderDeadline = :ended, mustExpire = :mustExpire',
        ConditionExpression: '#owner = :owner AND holder = :holder',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: {
          ':ended': { N: '0' },
          ':mustExpire': { BOOL: mustExpire },
          ':owner': { S: 'version-1' },
          ':holder': { S: 'request-1/nonce' },
        },
      });
    },
  );

  it('maps DynamoDB failures to SECRET_STORE_FAILED (retryable), naming only the exception', async () => {
    ddb
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('secret detail'), { name: 'InternalServerError' }));
    const error = await leases.acquire('k', LEASE).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SECRET_STORE_FAILED',
      retryable: true,
      message: 'DynamoDB PutItem on the lease table failed (InternalServerError)',
    });
  });
});

describe('LeaseTable: key and version records', () => {
  beforeEach(() => ddb.reset());

  it('binds a new key to its fingerprint only if no live record exists', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    expect(await leases.bindKey('key#p#k1', 'fp-1', NOW)).toEqual({ fingerprint: 'fp-1', state: 'started' });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Key: { pk: { S: 'key#p#k1' } },
      ConsistentRead: true,
    });
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Item: {
        pk: { S: 'key#p#k1' },
        fingerprint: { S: 'fp-1' },
        state: { S: 'started' },
        expiresAt: { N: String(NOW / 1000 + 7 * 24 * 3600) },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: '1795000000' } },
    });
  });

  it('answers the record of a key bound to the same request, and refuses another request', async () => {
    ddb.on(GetItemCommand).resolves({
      Item: {
        fingerprint: { S: 'fp-1' },
        state: { S: 'completed' },
        outcome: { S: '{"ok":true}' },
        expiresAt: unexpired,
      },
    });
    expect(await leases.bindKey('key#p#k1', 'fp-1', NOW)).toEqual({
      fingerprint: 'fp-1',
      state: 'completed',
      outcome: { ok: true },
    });
    const error = await leases.bindKey('key#p#k1', 'fp-2', NOW).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'idempotencyKey' }] });
    expect(ddb.commandCalls(PutItemCommand)).toEqual([]);
  });

  it('compares with the winner when another request binds the key between read and write', async () => {
    ddb
      .on(GetItemCommand)
      .resolvesOnce({})
      .resolves({ Item: { fingerprint: { S: 'fp-other' }, state: { S: 'started' }, expiresAt: unexpired } });
    ddb.on(PutItemCommand).rejects(conditionFailed());
    await expect(leases.bindKey('key#p#k1', 'fp-1', NOW)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('ignores records past their expiry (TTL deletion lags)', async () => {
    ddb.on(GetItemCommand).resolves({
      Item: { state: { S: 'applied' }, expiresAt: { N: String(NOW / 1000 - 1) } },
    });
    expect(await leases.versionRecord('version#s#v', NOW)).toBeUndefined();
  });

  it('records what became of a version, with the refusal of a discarded one', async () => {
    ddb.on(PutItemCommand).resolves({});
    const error = { code: 'PROVIDER_THROTTLED' as const, message: 'slow down', retryable: true };
    await leases.markVersion('version#s#v', { state: 'discarded', error }, NOW);
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'leases',
      Item: {
        pk: { S: 'version#s#v' },
        state: { S: 'discarded' },
        error: { S: JSON.stringify(error) },
        expiresAt: { N: String(NOW / 1000 + 7 * 24 * 3600) },
      },
    });
    ddb.on(GetItemCommand).resolves({
      Item: { state: { S: 'discarded' }, error: { S: JSON.stringify(error) }, expiresAt: unexpired },
    });
    expect(await leases.versionRecord('version#s#v', NOW)).toEqual({ state: 'discarded', error });
  });

  it('records how a key ended, keeping its fingerprint', async () => {
    ddb.on(PutItemCommand).resolves({});
    await leases.finishKey('key#p#k1', 'fp-1', 'failed', { code: 'PROVIDER_REJECTED' }, NOW);
    expect(ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item).toEqual({
      pk: { S: 'key#p#k1' },
      fingerprint: { S: 'fp-1' },
      state: { S: 'failed' },
      outcome: { S: '{"code":"PROVIDER_REJECTED"}' },
      expiresAt: { N: String(NOW / 1000 + 7 * 24 * 3600) },
    });
  });
});
