import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../lib/logger.ts';
import { keyRecordKey, replayedFailure } from '../../../lib/rotation/key-record.ts';
import { RECORD_RETENTION_SECONDS } from '../../../lib/rotation/record-table.ts';
import { versionRecordKey } from '../../../lib/rotation/version-record.ts';
import { rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

const world = rotationWorld();
const keys = () => world.deps().records.keys;
const versions = () => world.deps().records.versions;
const KEY = keyRecordKey('ncloud-cdss', 'k1');
const KEY2 = keyRecordKey('ncloud-cdss', 'k2');
const VERSION_KEY = `version#${SECRET_NAME}#v1`;
// The clock the records are given: whole seconds and milliseconds both matter to a TTL.
const NOW = 1_750_000_000_500;
const NOW_SECONDS = 1_750_000_000;
const RETAINED_UNTIL = String(NOW_SECONDS + RECORD_RETENTION_SECONDS);
const REUSED_KEY_RULE =
  'was already used for a different request (another target, account, secret, storePassword or password); use a new key';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('key records', () => {
  it('are named after the provider and the key', () => {
    expect(KEY).toBe('key#ncloud-cdss#k1');
  });

  it('bind a key once, with no TTL while it is started, and answer the same binding to the same request', async () => {
    expect(await keys().bind(KEY, 'fp-1', NOW)).toEqual({ fingerprint: 'fp-1', state: 'started' });
    expect(world.ddbInputs.map((c) => c.command)).toEqual(['GetItem', 'PutItem']);
    expect(world.ddbInputs[1]).toEqual({
      command: 'PutItem',
      input: {
        TableName: world.tableName,
        Item: {
          pk: { S: KEY },
          fingerprint: { S: 'fp-1' },
          state: { S: 'started' },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': { N: String(NOW_SECONDS) } },
      },
    });
    expect(await world.rawItem(KEY)).toEqual({
      pk: { S: KEY },
      fingerprint: { S: 'fp-1' },
      state: { S: 'started' },
    });
    expect(await keys().bind(KEY, 'fp-1', NOW)).toEqual({ fingerprint: 'fp-1', state: 'started' });
    await expect(keys().bind(KEY, 'fp-2', NOW)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `Invalid request: idempotencyKey ${REUSED_KEY_RULE}`,
      fields: [{ field: 'idempotencyKey', rule: REUSED_KEY_RULE }],
    });
  });

  it('decide from the record read back when the binding write was retried after it was applied', async () => {
    world.given.answerLost({ command: 'PutItem', keyPrefix: 'key#' });
    expect(await keys().bind(KEY, 'fp-1')).toEqual({ fingerprint: 'fp-1', state: 'started' });
  });

  it('decide from the record read back when a concurrent request bound the key first', async () => {
    // Bound between our read and our write: to another request, the key is refused.
    world.onNextCall('PutItem', 'key#', () =>
      world.given.item(KEY, { fingerprint: 'fp-other', state: 'started' }),
    );
    await expect(keys().bind(KEY, 'fp-1', NOW)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'idempotencyKey', rule: REUSED_KEY_RULE }],
    });
    expect(await world.rawItem(KEY)).toEqual({
      pk: { S: KEY },
      fingerprint: { S: 'fp-other' },
      state: { S: 'started' },
    });
    // To the same request, already answered: its answer.
    world.onNextCall('PutItem', 'key#', () =>
      world.given.item(KEY2, { fingerprint: 'fp-1', state: 'completed', outcome: '{"ok":true}' }),
    );
    expect(await keys().bind(KEY2, 'fp-1', NOW)).toEqual({
      fingerprint: 'fp-1',
      state: 'completed',
      outcome: { ok: true },
    });
  });

  it('answer the recorded outcome after completion; check() writes nothing', async () => {
    await keys().finish(KEY, 'fp-1', 'completed', { ok: true });
    expect(await keys().check(KEY, 'fp-1')).toEqual({
      fingerprint: 'fp-1',
      state: 'completed',
      outcome: { ok: true },
    });
    const writes = world.ddbInputs.length;
    await expect(keys().check(KEY, 'fp-9')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(world.ddbInputs.slice(writes).map((c) => c.command)).toEqual(['GetItem']);
  });

  it('keep an answer 7 days from when it was recorded, a failure as well as a success', async () => {
    await keys().finish(KEY, 'fp-1', 'completed', { ok: true }, NOW);
    expect(await world.rawItem(KEY)).toEqual({
      pk: { S: KEY },
      fingerprint: { S: 'fp-1' },
      state: { S: 'completed' },
      outcome: { S: '{"ok":true}' },
      expiresAt: { N: RETAINED_UNTIL },
    });
    const refusal = { code: 'PROVIDER_REJECTED', message: 'no', retryable: false };
    await keys().finish(KEY2, 'fp-2', 'failed', refusal, NOW);
    expect(await world.rawItem(KEY2)).toEqual({
      pk: { S: KEY2 },
      fingerprint: { S: 'fp-2' },
      state: { S: 'failed' },
      outcome: { S: JSON.stringify(refusal) },
      expiresAt: { N: RETAINED_UNTIL },
    });
    expect(await keys().check(KEY2, 'fp-2', NOW)).toEqual({
      fingerprint: 'fp-2',
      state: 'failed',
      outcome: refusal,
    });
  });

  it('log a failure to record an answer, and answer as if it had been recorded', async () => {
    const warn = vi.spyOn(logger, 'warn');
    await keys().bind(KEY, 'fp-1', NOW);
    world.given.writeFails({ command: 'PutItem', keyPrefix: 'key#', times: 1 });
    await expect(keys().finish(KEY, 'fp-1', 'completed', { ok: true }, NOW)).resolves.toBeUndefined();
    expect(warn.mock.calls).toEqual([
      [
        'could not record the answer of an idempotency key',
        { state: 'completed', errorName: 'SecretStoreFailed' },
      ],
    ]);
    // A replay runs the rotation again, under the key's binding.
    expect(await keys().check(KEY, 'fp-1', NOW)).toEqual({ fingerprint: 'fp-1', state: 'started' });
  });

  it('treat a record past its retention as absent (DynamoDB deletes expired items late)', async () => {
    await world.given.item(KEY, {
      fingerprint: 'fp-old',
      state: 'completed',
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    expect(await keys().bind(KEY, 'fp-new')).toEqual({ fingerprint: 'fp-new', state: 'started' });
  });

  it('count until the second their TTL names has passed', async () => {
    await world.given.item(KEY, {
      fingerprint: 'fp-1',
      state: 'completed',
      outcome: '{"ok":true}',
      expiresAt: 1_700_000_000,
    });
    expect(await keys().check(KEY, 'fp-1', 1_700_000_000_999)).toEqual({
      fingerprint: 'fp-1',
      state: 'completed',
      outcome: { ok: true },
    });
    expect(await keys().check(KEY, 'fp-1', 1_700_000_001_000)).toBeUndefined();
  });

  it('keep an answer seven days from when it was recorded (the TTL in epoch seconds)', async () => {
    await keys().finish(KEY, 'fp-1', 'completed', { ok: true }, 1_700_000_000_999);
    expect(await world.rawItem(KEY)).toEqual({
      pk: { S: KEY },
      fingerprint: { S: 'fp-1' },
      state: { S: 'completed' },
      outcome: { S: '{"ok":true}' },
      expiresAt: { N: String(1_700_000_000 + 7 * 24 * 3600) },
    });
  });

  it('never take over an item that is no binding (no fingerprint, no state, an unknown state): SECRET_STORE_FAILED', async () => {
    const notBindings: Record<string, string>[] = [
      { state: 'started' },
      { fingerprint: 'fp-1' },
      { fingerprint: 'fp-1', state: 'pending' },
    ];
    for (const fields of notBindings) {
      await world.given.item(KEY, fields);
      expect(await keys().check(KEY, 'fp-1', NOW)).toBeUndefined();
      await expect(keys().bind(KEY, 'fp-1', NOW)).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'The idempotency key could not be bound; retry',
      });
      expect(await world.rawItem(KEY)).toEqual({
        pk: { S: KEY },
        ...Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, { S: value }])),
      });
    }
  });

  it('answer a recorded failure again with its code, message and provider details, marked as a replay', () => {
    const replayed = replayedFailure({
      code: 'PROVIDER_REJECTED',
      message: 'refused by the provider',
      retryable: false,
      providerStatus: 400,
      providerCode: 'InvalidPassword',
      fields: [{ field: 'password', rule: 'is too short' }],
    });
    expect(replayed).toMatchObject({
      code: 'PROVIDER_REJECTED',
      message: 'refused by the provider',
      providerStatus: 400,
      providerCode: 'InvalidPassword',
      fields: [{ field: 'password', rule: 'is too short' }],
      replayed: true,
    });
  });
});

describe('version records', () => {
  it('have no TTL while their version is pending, and one, 7 days from the clock, once it is settled', async () => {
    await versions().mark(SECRET_NAME, 'v1', { state: 'sent' });
    expect(world.ddbInputs.at(-1)).toEqual({
      command: 'PutItem',
      input: { TableName: world.tableName, Item: { pk: { S: VERSION_KEY }, state: { S: 'sent' } } },
    });
    expect(await world.versionRecord('v1')).toEqual({ state: 'sent', expires: false });
    await versions().mark(SECRET_NAME, 'v1', { state: 'applied' });
    await versions().settle(SECRET_NAME, 'v1', NOW);
    expect(world.ddbInputs.at(-1)).toEqual({
      command: 'UpdateItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: VERSION_KEY } },
        UpdateExpression: 'SET #set_expiresAt = :set_expiresAt',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#set_expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':set_expiresAt': { N: RETAINED_UNTIL } },
      },
    });
    expect(await world.rawItem(VERSION_KEY)).toEqual({
      pk: { S: VERSION_KEY },
      state: { S: 'applied' },
      expiresAt: { N: RETAINED_UNTIL },
    });
  });

  it('read back each state they record', async () => {
    for (const state of ['sent', 'applied', 'refused', 'discarded'] as const) {
      await versions().mark(SECRET_NAME, state, { state });
      expect(await versions().read(SECRET_NAME, state, { pending: false })).toEqual({ state });
      expect(await versions().read(SECRET_NAME, state, { pending: true })).toEqual({ state });
    }
  });

  it('expire seven days after their version is settled (the TTL in epoch seconds)', async () => {
    await versions().mark(SECRET_NAME, 'v1', { state: 'applied' });
    await versions().settle(SECRET_NAME, 'v1', 1_700_000_000_999);
    expect(await world.rawItem(versionRecordKey(SECRET_NAME, 'v1'))).toEqual({
      pk: { S: versionRecordKey(SECRET_NAME, 'v1') },
      state: { S: 'applied' },
      expiresAt: { N: String(1_700_000_000 + 604_800) },
    });
  });

  it('keep the refusal they record', async () => {
    const error = { code: 'PROVIDER_REJECTED' as const, message: 'no', retryable: false };
    await versions().mark(SECRET_NAME, 'v1', { state: 'discarded', error });
    expect(await world.rawItem(VERSION_KEY)).toEqual({
      pk: { S: VERSION_KEY },
      state: { S: 'discarded' },
      error: { S: JSON.stringify(error) },
    });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false })).toEqual({
      state: 'discarded',
      error,
    });
  });

  it('are read with one consistent read and no write when they have no TTL, pending or not', async () => {
    await world.given.version('v1', 'sent');
    const before = world.ddbInputs.length;
    expect(await versions().read(SECRET_NAME, 'v1', { pending: true }, NOW)).toEqual({ state: 'sent' });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false }, NOW)).toEqual({ state: 'sent' });
    expect(world.ddbInputs.slice(before)).toEqual([
      {
        command: 'GetItem',
        input: { TableName: world.tableName, Key: { pk: { S: VERSION_KEY } }, ConsistentRead: true },
      },
      {
        command: 'GetItem',
        input: { TableName: world.tableName, Key: { pk: { S: VERSION_KEY } }, ConsistentRead: true },
      },
    ]);
  });

  it('of a settled version count until their TTL has passed', async () => {
    await world.given.version('v1', 'applied', { expiredAt: NOW + 1_000 });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false }, NOW)).toEqual({ state: 'applied' });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false }, NOW + 2_000)).toBeUndefined();
  });

  it('of a pending version count past a TTL an earlier release set, which is removed', async () => {
    await world.given.version('v1', 'sent', { expiredAt: NOW - 1_000 });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false }, NOW)).toBeUndefined();
    expect(await versions().read(SECRET_NAME, 'v1', { pending: true }, NOW)).toEqual({ state: 'sent' });
    expect(world.ddbInputs.at(-1)).toEqual({
      command: 'UpdateItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: VERSION_KEY } },
        UpdateExpression: 'REMOVE #remove_expiresAt',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#remove_expiresAt': 'expiresAt' },
      },
    });
    expect(await world.rawItem(VERSION_KEY)).toEqual({ pk: { S: VERSION_KEY }, state: { S: 'sent' } });
  });

  it('count as absent when the item is no version record (no state, an unknown state)', async () => {
    const notRecords: Record<string, string>[] = [{ error: '{}' }, { state: 'pending' }];
    for (const fields of notRecords) {
      await world.given.item(VERSION_KEY, fields);
      expect(await versions().read(SECRET_NAME, 'v1', { pending: true }, NOW)).toBeUndefined();
      expect(await versions().read(SECRET_NAME, 'v1', { pending: false }, NOW)).toBeUndefined();
    }
  });

  it('settle nothing that does not exist', async () => {
    await versions().settle(SECRET_NAME, 'never-written');
    expect(await world.versionRecord('never-written')).toBeUndefined();
  });

  it('log a failure to start the retention of a settled version, which keeps its record longer', async () => {
    const warn = vi.spyOn(logger, 'warn');
    await versions().mark(SECRET_NAME, 'v1', { state: 'applied' });
    world.given.writeFails({ command: 'UpdateItem', keyPrefix: 'version#', times: 1 });
    await expect(versions().settle(SECRET_NAME, 'v1', NOW)).resolves.toBeUndefined();
    expect(warn.mock.calls).toEqual([
      [
        'could not start the retention of a settled version record',
        { versionId: 'v1', errorName: 'SecretStoreFailed' },
      ],
    ]);
    expect(await world.versionRecord('v1')).toEqual({ state: 'applied', expires: false });
  });
});
