import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
import type { ClientOptions, ProviderDefinition } from '../../../lib/providers/types.ts';
import { logAfterAnswer, prepare, type RotationRequest, withLease } from '../../../lib/rotation/context.ts';
import { versionIdFor } from '../../../lib/rotation/rotate.ts';
import { LEASE_KEY, rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

// What every way of rotating shares before its first step: the request's cluster and its provider
// client (prepare), and the cluster's lease around the rotation (withLease).

const world = rotationWorld();
const { given } = world;
const MINE = versionIdFor(SECRET_NAME, 'key-1');
const OTHER = versionIdFor(SECRET_NAME, 'other-key');
const DEADLINE = Date.now() + 10_000;

const request = (change: Partial<Envelope> = {}, provider = world.provider): RotationRequest => ({
  ...world.request(change, provider),
  deadline: DEADLINE,
  invocationDeadline: DEADLINE + 2_000,
});

/** The rotation of MINE under the cluster's lease, running `body`. */
const leased = <T>(body: Parameters<typeof withLease<unknown, T>>[2], versionId = MINE): Promise<T> =>
  withLease(prepare(world.deps(), request()), { secretName: SECRET_NAME, versionId }, body);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('prepare', () => {
  it('creates the provider client for the envelope’s cluster, with the caller’s credentials, the config and the deadline', () => {
    const created: Array<ClientOptions<unknown>> = [];
    const provider: ProviderDefinition<unknown> = {
      ...world.provider,
      createClient: (options) => {
        created.push(options);
        return world.client;
      },
    };
    const withProject = prepare(world.deps(), request({ projectId: 'project-7' }, provider));
    expect(withProject.target).toEqual({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      projectId: 'project-7',
    });
    expect(withProject.client).toBe(world.client);
    const without = prepare(world.deps(), request({}, provider));
    expect(without.target).toEqual({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' });
    expect(created).toEqual([
      {
        credentials: { accessKey: 'AK', secretKey: 'SK' },
        target: withProject.target,
        config: world.config,
        deadline: DEADLINE,
      },
      {
        credentials: { accessKey: 'AK', secretKey: 'SK' },
        target: without.target,
        config: world.config,
        deadline: DEADLINE,
      },
    ]);
  });
});

describe('withLease', () => {
  it('holds the cluster’s lease for the rotation, in this invocation’s name, while the body runs; then releases it', async () => {
    const seen = await leased(async (rotation) => {
      const item = await world.rawItem(LEASE_KEY);
      return {
        result: {
          entry: rotation.entry,
          lease: rotation.lease,
          secretName: rotation.secretName,
          stored: { owner: item?.owner?.S, holder: item?.holder?.S, inDoubt: item?.inDoubt?.BOOL },
        },
      };
    });
    expect(seen).toEqual({
      entry: 'clean',
      lease: {
        key: LEASE_KEY,
        owner: MINE,
        holder: expect.stringMatching(/^lambda-req-1\/[0-9a-f-]{36}$/),
        holderDeadline: DEADLINE + 2_000,
      },
      secretName: SECRET_NAME,
      stored: { owner: MINE, holder: seen.lease.holder, inDoubt: false },
    });
    expect(await world.lease()).toBeUndefined();
  });

  it('refuses a second invocation of the same rotation while the first holds the lease', async () => {
    let nestedRan = false;
    await leased(async () => {
      await expect(
        leased(async () => {
          nestedRan = true;
          return { result: 'nested' };
        }),
      ).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: false, handedOver: false });
      return { result: 'first' };
    });
    expect(nestedRan).toBe(false);
    expect(await world.lease()).toBeUndefined();
  });

  it('refuses while another rotation holds the lease: the body never runs, the lease stays as it was', async () => {
    await given.lease(OTHER, { alive: true });
    const body = vi.fn();
    await expect(leased(body)).rejects.toMatchObject({
      code: 'ROTATION_IN_PROGRESS',
      message: 'Another rotation of this cluster is in progress; retry when it has finished',
    });
    expect(body).not.toHaveBeenCalled();
    expect(await world.lease()).toEqual({ owner: OTHER, inDoubt: false, handedOver: false });
  });

  it('tells the body its rotation’s lease was found in doubt, and keeps it so until it expires', async () => {
    await given.lease(MINE, { inDoubt: true });
    expect(await leased(async (rotation) => ({ result: rotation.entry }))).toBe('in-doubt');
    expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
  });

  it('hands the lease to the next step when the body asks for it', async () => {
    expect(await leased(async () => ({ result: 'set', handOver: true }))).toBe('set');
    expect(await world.lease()).toEqual({ owner: MINE, inDoubt: false, handedOver: true });
  });

  it('leaves the lease when the body fails, and throws the body’s error', async () => {
    const refusal = new ResetError('PROVIDER_REJECTED', 'refused');
    await expect(
      leased(async () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(await world.lease()).toBeUndefined();
  });

  describe('a lease that cannot be left once the answer is known', () => {
    const failNextLeaseWrite = (command: string) =>
      given.writeFails({ command, keyPrefix: 'lease#', times: 1 });

    it('answers the body’s result, logs which step failed, and the lease runs until it expires', async () => {
      const warn = vi.spyOn(logger, 'warn');
      const result = await leased(async () => {
        failNextLeaseWrite('DeleteItem');
        return { result: 'done' };
      });
      expect(result).toBe('done');
      expect(warn.mock.calls).toEqual([['could not leave the lease', { errorName: 'SecretStoreFailed' }]]);
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: false, handedOver: false });
    });

    it('throws the body’s own error, not the failed release', async () => {
      const warn = vi.spyOn(logger, 'warn');
      const refusal = new ResetError('PROVIDER_REJECTED', 'refused');
      await expect(
        leased(async () => {
          failNextLeaseWrite('DeleteItem');
          throw refusal;
        }),
      ).rejects.toBe(refusal);
      expect(warn.mock.calls).toEqual([['could not leave the lease', { errorName: 'SecretStoreFailed' }]]);
    });

    it('answers the body’s result when the hand-over to the next step fails', async () => {
      const warn = vi.spyOn(logger, 'warn');
      const result = await leased(async () => {
        failNextLeaseWrite('UpdateItem');
        return { result: 'set', handOver: true };
      });
      expect(result).toBe('set');
      expect(warn.mock.calls).toEqual([
        ['could not hand the lease to the next step', { errorName: 'SecretStoreFailed' }],
      ]);
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: false, handedOver: false });
    });
  });

  it('logs a failure that is not an Error as unknown, naming the step and nothing of what was thrown', () => {
    const warn = vi.spyOn(logger, 'warn');
    logAfterAnswer('settle the version')('Plain-pass1! in a string');
    expect(warn.mock.calls).toEqual([['could not settle the version', { errorName: 'unknown' }]]);
  });
});
