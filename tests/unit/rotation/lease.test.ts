import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../lib/logger.ts';
import type { LeaseHolding } from '../../../lib/rotation/lease.ts';
import { LEASE_KEY, rotationWorld } from '../../support/rotation-world.ts';

const world = rotationWorld();
const leases = () => world.deps().records.leases;
const NOW = Date.now();
const mine = (holder = 'request-1/nonce'): LeaseHolding => ({
  key: LEASE_KEY,
  owner: 'version-1',
  holder,
  holderDeadline: NOW + 29_000,
});
const IN_PROGRESS = {
  code: 'ROTATION_IN_PROGRESS',
  message: 'Another rotation of this cluster is in progress; retry when it has finished',
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the cluster lease', () => {
  it('takes a free lease with one conditional update, clean', async () => {
    expect(await leases().acquire(mine(), NOW)).toBe('clean');
    expect(world.ddbInputs[0]).toEqual({
      command: 'UpdateItem',
      input: {
        TableName: world.tableName,
        Key: { pk: { S: LEASE_KEY } },
        UpdateExpression:
          'SET #set_holder = :set_holder, #set_holderDeadline = :set_holderDeadline, #set_leaseUntil = :set_leaseUntil, #set_expiresAt = :set_expiresAt, #set_owner = :set_owner, #set_inDoubt = :set_inDoubt',
        ConditionExpression:
          'attribute_not_exists(pk) OR leaseUntil < :now OR (attribute_not_exists(leaseUntil) AND expiresAt < :nowSeconds)',
        ExpressionAttributeNames: {
          '#set_holder': 'holder',
          '#set_holderDeadline': 'holderDeadline',
          '#set_leaseUntil': 'leaseUntil',
          '#set_expiresAt': 'expiresAt',
          '#set_owner': 'owner',
          '#set_inDoubt': 'inDoubt',
        },
        ExpressionAttributeValues: {
          ':set_holder': { S: 'request-1/nonce' },
          ':set_holderDeadline': { N: String(NOW + 29_000) },
          ':set_leaseUntil': { N: String(NOW + 120_000) },
          ':set_expiresAt': { N: String(Math.ceil((NOW + 120_000) / 1000)) },
          ':set_owner': { S: 'version-1' },
          ':set_inDoubt': { BOOL: false },
          ':now': { N: String(NOW) },
          ':nowSeconds': { N: String(Math.floor(NOW / 1000)) },
        },
      },
    });
    expect(await world.lease()).toEqual({ owner: 'version-1', inDoubt: false, handedOver: false });
  });

  it('refuses another rotation while the lease runs, and lets anyone take it once it has expired', async () => {
    await world.given.lease('version-0', { alive: true });
    const before = world.log.length;
    await expect(leases().acquire(mine())).rejects.toMatchObject(IN_PROGRESS);
    // Refused by the conditions of its two writes, with nothing read back.
    expect(world.log.slice(before)).toEqual([
      'ddb:UpdateItem lease',
      'ddb:GetItem lease',
      'ddb:UpdateItem lease',
    ]);
    await world.given.lease('version-0', { inDoubt: true, untilMs: -1 });
    // Expiry settles what was in doubt: the new lease is clean.
    expect(await leases().acquire(mine())).toBe('clean');
    expect(await world.lease()).toMatchObject({ owner: 'version-1', inDoubt: false });
  });

  it('lets its own rotation re-enter once the holder has ended, keeping what was in doubt', async () => {
    await world.given.lease('version-1', { alive: true });
    await expect(leases().acquire(mine())).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
    await world.given.lease('version-1', { inDoubt: false });
    expect(await leases().acquire(mine())).toBe('clean');
    await world.given.lease('version-1', { inDoubt: true });
    expect(await leases().acquire(mine('request-2/nonce'))).toBe('in-doubt');
    await world.given.lease('version-1', { inDoubt: true, handedOver: true });
    expect(await leases().acquire(mine('request-3/nonce'))).toBe('in-doubt');
    expect(await world.lease()).toMatchObject({ inDoubt: true, handedOver: false });
  });

  it('decides from the lease read back, not from which try of a retried write answered', async () => {
    // The re-entry of a lease in doubt is applied, its answer lost, and the SDK retries it: the
    // retry meets our own first write. The lease is still in doubt.
    await world.given.lease('version-1', { inDoubt: true });
    world.given.answerLost({ command: 'UpdateItem', keyPrefix: 'lease#', nth: 2 });
    expect(await leases().acquire(mine())).toBe('in-doubt');
    expect(world.log.filter((l) => l === 'ddb:UpdateItem lease')).toHaveLength(3);
    // Taking a free lease, answer lost and retried: the retry fails the "free" condition, re-enters
    // our own holding, and the lease is ours and clean.
    await world.given.lease('version-0', { untilMs: -1 });
    world.given.answerLost({ command: 'UpdateItem', keyPrefix: 'lease#' });
    expect(await leases().acquire(mine('request-9/nonce'))).toBe('clean');
  });

  it('reads a lease an earlier release wrote (no inDoubt): only its clean hand-over is clean', async () => {
    const until = Date.now() + 60_000;
    const legacy = {
      owner: 'version-1',
      holder: 'old',
      leaseUntil: until,
      expiresAt: Math.ceil(until / 1000),
    };
    await world.given.item(LEASE_KEY, { ...legacy, holderDeadline: 0, mustExpire: false });
    expect(await leases().acquire(mine())).toBe('clean');
    await world.given.item(LEASE_KEY, { ...legacy, holderDeadline: 0, mustExpire: true });
    expect(await leases().acquire(mine())).toBe('in-doubt');
    // Killed without a hand-over: it may have been sending.
    await world.given.item(LEASE_KEY, { ...legacy, holderDeadline: Date.now() - 1 });
    expect(await leases().acquire(mine())).toBe('in-doubt');
    // Re-entered after a clean hand-over (mustExpire stays false), then killed: it may have been sending.
    await world.given.item(LEASE_KEY, { ...legacy, holderDeadline: Date.now() - 1, mustExpire: false });
    expect(await leases().acquire(mine())).toBe('in-doubt');
  });

  it('leaves a lease of the first release (an owner and a TTL, nothing else) alone until it expires', async () => {
    const first = { owner: 'version-1', expiresAt: Math.ceil(Date.now() / 1000) + 60 };
    await world.given.item(LEASE_KEY, first);
    await expect(leases().acquire(mine())).rejects.toMatchObject(IN_PROGRESS);
    expect(await world.rawItem(LEASE_KEY)).toEqual({
      pk: { S: LEASE_KEY },
      owner: { S: 'version-1' },
      expiresAt: { N: String(first.expiresAt) },
    });
  });

  it('takes a lease of the first release once the second its TTL names has passed, before DynamoDB deletes it', async () => {
    const nowSeconds = Math.floor(NOW / 1000);
    await world.given.item(LEASE_KEY, { owner: 'another-version', expiresAt: nowSeconds });
    await expect(leases().acquire(mine(), NOW)).rejects.toMatchObject(IN_PROGRESS);
    await world.given.item(LEASE_KEY, { owner: 'another-version', expiresAt: nowSeconds - 1 });
    expect(await leases().acquire(mine(), NOW)).toBe('clean');
    expect(await world.rawItem(LEASE_KEY)).toMatchObject({
      owner: { S: 'version-1' },
      holder: { S: 'request-1/nonce' },
      inDoubt: { BOOL: false },
    });
  });

  it('states an earlier release’s lease as it was read: a doubt set meanwhile by another invocation stays', async () => {
    const until = Date.now() + 60_000;
    await world.given.item(LEASE_KEY, {
      owner: 'version-1',
      holder: 'old',
      holderDeadline: 0,
      mustExpire: false,
      leaseUntil: until,
      expiresAt: Math.ceil(until / 1000),
    });
    // Between our reading of the clean hand-over and our stating it, another invocation of the same
    // rotation states it, re-enters the lease and marks it in doubt before its send.
    world.onNextCall('GetItem', 'lease#', async () => {
      world.onNextCall('UpdateItem', 'lease#', () =>
        world.given.lease('version-1', { inDoubt: true, alive: true, holder: 'other-invocation' }),
      );
    });
    await expect(leases().acquire(mine())).rejects.toMatchObject(IN_PROGRESS);
    expect(await world.lease()).toEqual({ owner: 'version-1', inDoubt: true, handedOver: false });
  });

  it('is marked in doubt before a send, and refuses the send once this invocation lost the lease', async () => {
    const holding = mine();
    await leases().acquire(holding);
    await leases().markInDoubt(holding);
    expect(await world.lease()).toMatchObject({ inDoubt: true });
    await world.given.lease('version-2', { alive: true });
    await expect(leases().markInDoubt(holding)).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
  });

  it('runs a whole lease from the send: marking it in doubt moves its end', async () => {
    const holding = mine();
    await leases().acquire(holding, NOW - 60_000);
    await leases().markInDoubt(holding, NOW);
    const item = await world.rawItem(LEASE_KEY);
    expect(item?.leaseUntil).toEqual({ N: String(NOW + 120_000) });
    expect(item?.expiresAt).toEqual({ N: String(Math.ceil((NOW + 120_000) / 1000)) });
  });

  it('reads an earlier release’s lease handed over without saying whether it must expire as in doubt', async () => {
    const until = Date.now() + 60_000;
    await world.given.item(LEASE_KEY, {
      owner: 'version-1',
      holder: 'old',
      holderDeadline: 0,
      leaseUntil: until,
      expiresAt: Math.ceil(until / 1000),
    });
    expect(await leases().acquire(mine())).toBe('in-doubt');
  });

  it('refuses the one that took the lease between its write and its read-back', async () => {
    // Another rotation's lease, expired: ours is taken, then (before our read-back) theirs again.
    await world.given.lease('version-0', { untilMs: -1 });
    const leasesNow = leases();
    world.onNextCall('GetItem', 'lease#', () =>
      world.given.lease('version-2', { alive: true, holder: 'someone-else' }),
    );
    await expect(leasesNow.acquire(mine())).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
  });

  it('is released when nothing is in doubt, and handed over (kept until it expires) when something is', async () => {
    const holding = mine();
    await leases().acquire(holding);
    await leases().leave(holding);
    expect(await world.lease()).toBeUndefined();
    await leases().acquire(holding);
    await leases().markInDoubt(holding);
    await leases().leave(holding);
    expect(await world.lease()).toEqual({ owner: 'version-1', inDoubt: true, handedOver: true });
    // A release retried after it was applied finds nothing, and hands nothing over.
    await world.given.lease('version-1', { holder: holding.holder, alive: true });
    world.given.answerLost({ command: 'DeleteItem', keyPrefix: 'lease#' });
    await leases().leave(holding);
    expect(await world.lease()).toBeUndefined();
  });

  it('leaves alone a lease another invocation holds now', async () => {
    await world.given.lease('version-2', { alive: true, holder: 'someone-else' });
    await leases().leave(mine());
    await leases().clearDoubt(mine());
    expect(await world.lease()).toEqual({ owner: 'version-2', inDoubt: false, handedOver: false });
  });

  it('clears a doubt only for the holder that set it', async () => {
    const holding = mine();
    await leases().acquire(holding);
    await leases().markInDoubt(holding);
    await leases().clearDoubt({ ...holding, holder: 'another' });
    expect(await world.lease()).toMatchObject({ inDoubt: true });
    await leases().clearDoubt(holding);
    expect(await world.lease()).toMatchObject({ inDoubt: false });
  });

  it('logs a failure to clear a doubt, and stays in doubt until it expires', async () => {
    const warn = vi.spyOn(logger, 'warn');
    const holding = mine();
    await leases().acquire(holding);
    await leases().markInDoubt(holding);
    world.given.writeFails({ command: 'UpdateItem', keyPrefix: 'lease#', times: 1 });
    await expect(leases().clearDoubt(holding)).resolves.toBeUndefined();
    expect(warn.mock.calls).toEqual([
      [
        'could not clear the lease of a settled send; it stays until it expires',
        { errorName: 'SecretStoreFailed' },
      ],
    ]);
    expect(await world.lease()).toMatchObject({ inDoubt: true });
  });
});
