import { describe, expect, it } from 'vitest';
import { keyRecordKey } from '../../../lib/rotation/key-record.ts';
import { versionRecordKey } from '../../../lib/rotation/version-record.ts';
import { rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

const world = rotationWorld();
const keys = () => world.deps().records.keys;
const versions = () => world.deps().records.versions;
const KEY = keyRecordKey('ncloud-cdss', 'k1');

describe('key records', () => {
  it('bind a key once, with no TTL while it is started, and answer the same binding to the same request', async () => {
    expect(await keys().bind(KEY, 'fp-1')).toEqual({ fingerprint: 'fp-1', state: 'started' });
    expect(world.ddbInputs.at(-1)).toEqual({
      command: 'PutItem',
      input: {
        TableName: world.tableName,
        Item: {
          pk: { S: KEY },
          fingerprint: { S: 'fp-1' },
          state: { S: 'started' },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': { N: expect.any(String) } },
      },
    });
    expect(await keys().bind(KEY, 'fp-1')).toEqual({ fingerprint: 'fp-1', state: 'started' });
    await expect(keys().bind(KEY, 'fp-2')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'idempotencyKey' }],
    });
  });

  it('decide from the record read back when the binding write was retried after it was applied', async () => {
    world.given.answerLost({ command: 'PutItem', keyPrefix: 'key#' });
    expect(await keys().bind(KEY, 'fp-1')).toEqual({ fingerprint: 'fp-1', state: 'started' });
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
});

describe('version records', () => {
  it('have no TTL while their version is pending, and one once it is settled', async () => {
    await versions().mark(SECRET_NAME, 'v1', { state: 'sent' });
    expect(await world.versionRecord('v1')).toEqual({ state: 'sent', expires: false });
    await versions().mark(SECRET_NAME, 'v1', { state: 'applied' });
    await versions().settle(SECRET_NAME, 'v1');
    expect(await world.versionRecord('v1')).toEqual({ state: 'applied', expires: true });
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
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false })).toEqual({
      state: 'discarded',
      error,
    });
  });

  it('of a pending version count past a TTL an earlier release set, which is removed', async () => {
    await world.given.version('v1', 'sent', { expiredAt: Date.now() - 1_000 });
    expect(await versions().read(SECRET_NAME, 'v1', { pending: false })).toBeUndefined();
    expect(await versions().read(SECRET_NAME, 'v1', { pending: true })).toEqual({ state: 'sent' });
    expect(await world.versionRecord('v1')).toEqual({ state: 'sent', expires: false });
  });

  it('settle nothing that does not exist', async () => {
    await versions().settle(SECRET_NAME, 'never-written');
    expect(await world.versionRecord('never-written')).toBeUndefined();
  });
});
