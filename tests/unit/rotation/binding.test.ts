import { describe, expect, it } from 'vitest';
import { bindingKeyOf, bindingMismatch, notTheClusterSecret } from '../../../lib/rotation/binding.ts';
import { rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

const world = rotationWorld();
const bindings = () => world.deps().records.bindings;
const CLUSTER = { provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' };
const KEY = 'binding#ncloud-cdss#KR#1009123';

describe('a cluster’s binding', () => {
  it('is keyed by the cluster', () => {
    expect(bindingKeyOf(CLUSTER)).toBe(KEY);
  });

  it('is written once, with a conditional put, and read back as written', async () => {
    const bound = await bindings().bind(CLUSTER, {
      secretName: SECRET_NAME,
      secretArn: `arn:${SECRET_NAME}`,
      account: 'team-a',
      projectId: 'p1',
    });
    expect(bound).toEqual({
      secretName: SECRET_NAME,
      secretArn: `arn:${SECRET_NAME}`,
      account: 'team-a',
      projectId: 'p1',
    });
    expect(world.ddbInputs.find((c) => c.command === 'PutItem')?.input).toEqual({
      TableName: world.tableName,
      Item: {
        pk: { S: KEY },
        secretName: { S: SECRET_NAME },
        secretArn: { S: `arn:${SECRET_NAME}` },
        account: { S: 'team-a' },
        projectId: { S: 'p1' },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(await bindings().read(CLUSTER)).toEqual(bound);
  });

  it('answers the binding already there when another rotation (or our retried write) bound it first', async () => {
    await bindings().bind(CLUSTER, { secretName: SECRET_NAME, account: 'team-a' });
    expect(await bindings().bind(CLUSTER, { secretName: `${SECRET_NAME}-other`, account: 'team-b' })).toEqual(
      {
        secretName: SECRET_NAME,
        account: 'team-a',
      },
    );
    world.given.answerLost({ command: 'PutItem', keyPrefix: 'binding#' });
    const other = { ...CLUSTER, clusterId: '1009999' };
    expect(await bindings().bind(other, { secretName: 'n', account: 'a' })).toEqual({
      secretName: 'n',
      account: 'a',
    });
  });

  it('is deleted by an operator only from the account it names, and read back after a retried delete', async () => {
    await bindings().bind(CLUSTER, { secretName: SECRET_NAME, account: 'team-a' });
    expect(await bindings().unbind(CLUSTER, 'team-b')).toBe(false);
    expect(await bindings().read(CLUSTER)).toEqual({ secretName: SECRET_NAME, account: 'team-a' });
    expect(world.ddbInputs.find((c) => c.command === 'DeleteItem')?.input).toEqual({
      TableName: world.tableName,
      Key: { pk: { S: KEY } },
      ConditionExpression: 'account = :account',
      ExpressionAttributeValues: { ':account': { S: 'team-b' } },
    });
    // Applied, its answer lost, retried by the SDK: the retry's condition fails on the deleted item.
    world.given.answerLost({ command: 'DeleteItem', keyPrefix: 'binding#' });
    expect(await bindings().unbind(CLUSTER, 'team-a')).toBe(true);
    expect(await bindings().read(CLUSTER)).toBeUndefined();
  });

  it('is unbound until written, and ignores an item without its fields', async () => {
    expect(await bindings().read(CLUSTER)).toBeUndefined();
    await world.given.item(KEY, { secretName: SECRET_NAME });
    expect(await bindings().read(CLUSTER)).toBeUndefined();
    await world.given.item(KEY, { account: 'team-a' });
    expect(await bindings().read(CLUSTER)).toBeUndefined();
  });

  it('never writes over an item that is no binding: the cluster cannot be bound, SECRET_STORE_FAILED', async () => {
    await world.given.item(KEY, { account: 'team-a' });
    await expect(
      bindings().bind(CLUSTER, { secretName: SECRET_NAME, account: 'team-a' }),
    ).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'The cluster could not be bound to its secret; retry',
    });
    expect(await world.rawItem(KEY)).toEqual({ pk: { S: KEY }, account: { S: 'team-a' } });
  });

  it('moves to another account only from the account it names', async () => {
    await bindings().bind(CLUSTER, { secretName: SECRET_NAME, account: 'team-a' });
    expect(await bindings().moveAccount(CLUSTER, 'someone', 'team-b')).toBe(false);
    expect(await bindings().read(CLUSTER)).toMatchObject({ account: 'team-a' });
    expect(await bindings().moveAccount(CLUSTER, 'team-a', 'team-b')).toBe(true);
    expect(await bindings().read(CLUSTER)).toMatchObject({ account: 'team-b' });
  });
});

describe('bindingMismatch', () => {
  const bound = { secretName: SECRET_NAME, account: 'team-a', projectId: 'p1' };

  it('finds none when the request names what the binding holds, or nothing', () => {
    expect(bindingMismatch(bound, {})).toBeUndefined();
    expect(
      bindingMismatch(bound, { secretName: SECRET_NAME, account: 'team-a', projectId: 'p1' }),
    ).toBeUndefined();
    expect(
      bindingMismatch({ secretName: SECRET_NAME, account: 'team-a' }, { projectId: 'p2' }),
    ).toBeUndefined();
  });

  it.each([
    [
      'secretId',
      { secretName: `${SECRET_NAME}-copy` },
      `secretId names another secret than the cluster's own (${SECRET_NAME})`,
    ],
    ['account', { account: 'team-b' }, 'account is not the account the cluster is bound to ("team-a")'],
    ['projectId', { projectId: 'p2' }, 'projectId is not the project the cluster is bound to ("p1")'],
  ])('refuses another %s, naming the field and the bound value', (field, wanted, message) => {
    const error = bindingMismatch(bound, wanted);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field }] });
    expect(error?.message).toContain(message);
  });

  it('refuses a secret other than an unbound cluster’s default one, pointing to the operator', () => {
    const error = notTheClusterSecret(SECRET_NAME);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ field: 'secretId' }] });
    expect(error.message).toContain('npm run bind -- --secret');
  });
});
