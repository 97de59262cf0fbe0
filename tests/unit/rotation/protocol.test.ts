import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ResetError } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
import { prepare, type Rotation, type RotationRequest, withLease } from '../../../lib/rotation/context.ts';
import { ownSecret, rollForward } from '../../../lib/rotation/protocol.ts';
import { versionIdFor } from '../../../lib/rotation/rotate.ts';
import type { SecretState } from '../../../lib/rotation/secret-store.ts';
import { rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

// The steps every way of rotating shares around its one send (protocol.ts), run as the rotation of
// MINE under the cluster's lease: the secret's identity, and another attempt's pending version
// (OTHER), finished or discarded before MINE may be stored or sent.

const world = rotationWorld();
const { given, script } = world;
const PLACEHOLDER = versionIdFor(SECRET_NAME, '(placeholder)');
const MINE = versionIdFor(SECRET_NAME, 'key-1');
const OTHER = versionIdFor(SECRET_NAME, 'crashed-key');
const OTHER_PASSWORD = 'Other-pass-1!';

const request = (): RotationRequest => world.request();

const asRotation = <T>(body: (rotation: Rotation) => Promise<T>): Promise<T> =>
  withLease(
    prepare(world.deps(), request()),
    { secretName: SECRET_NAME, versionId: MINE },
    async (rotation) => ({
      result: await body(rotation),
    }),
  );

/** The secret as rollForward answers it: each labelled version's labels. */
const labels = (secret: SecretState | undefined) => secret && Object.fromEntries(secret.versions);

/** Rolls forward whatever the secret holds, as a rotation of MINE finds it. */
const rollForwardFound = async () =>
  labels(await asRotation(async (rotation) => rollForward(rotation, await ownSecret(rotation))));

const stageMoves = () => world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
const providerCalls = () => world.log.filter((line) => line.startsWith('provider:'));
const otherPending = () =>
  given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', OTHER_PASSWORD);

let info: MockInstance<typeof logger.info>;
let warn: MockInstance<typeof logger.warn>;
beforeEach(() => {
  info = vi.spyOn(logger, 'info');
  warn = vi.spyOn(logger, 'warn');
});
afterEach(() => {
  const logged = JSON.stringify([info.mock.calls, warn.mock.calls]);
  vi.restoreAllMocks();
  // Whatever was logged names versions and facts, never a password.
  expect(logged).not.toContain(OTHER_PASSWORD);
});

describe('ownSecret', () => {
  it('answers the secret when it is this cluster’s, and nothing when there is none', async () => {
    expect(await asRotation((rotation) => ownSecret(rotation))).toBeUndefined();
    given.secret().version(PLACEHOLDER, 'AWSCURRENT');
    expect(await asRotation((rotation) => ownSecret(rotation))).toMatchObject({
      arn: `arn:${SECRET_NAME}`,
      versions: new Map([[PLACEHOLDER, ['AWSCURRENT']]]),
    });
  });

  it('refuses another cluster’s secret as VALIDATION_FAILED on the field the caller named it by', async () => {
    given
      .secret({ tags: [{ Key: 'managed-by', Value: 'cluster-password-reset' }] })
      .version(PLACEHOLDER, 'AWSCURRENT');
    await expect(asRotation((rotation) => ownSecret(rotation, 'SecretId'))).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'SecretId' }],
    });
  });
});

describe('rollForward', () => {
  describe('leaves the secret as found, with no other call', () => {
    it('when there is no secret', async () => {
      expect(await rollForwardFound()).toBeUndefined();
    });

    it('when nothing is pending', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
    });

    it('when the pending version is this rotation’s own (its own steps decide its fate)', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'Mine-pass-1!');
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'], [MINE]: ['AWSPENDING'] });
      expect(world.log).toEqual([
        'ddb:UpdateItem lease',
        'ddb:GetItem lease',
        'sm:DescribeSecret',
        'ddb:DeleteItem lease',
      ]);
    });
  });

  it('makes current, sending nothing, another version recorded as applied; then waits for the cluster', async () => {
    otherPending();
    await given.version(OTHER, 'applied');
    expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSPREVIOUS'], [OTHER]: ['AWSCURRENT'] });
    expect(script.sentPasswords).toEqual([]);
    expect(stageMoves()).toEqual([
      {
        SecretId: SECRET_NAME,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: OTHER,
        RemoveFromVersionId: PLACEHOLDER,
      },
      { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
    ]);
    expect(await world.versionRecord(OTHER)).toEqual({ state: 'applied', expires: true });
    expect(providerCalls()).toEqual(['provider:awaitSettled', 'provider:assertReady']);
  });

  it('re-sends another version left "sent", makes it current, and waits for the cluster before anything else', async () => {
    otherPending();
    await given.version(OTHER, 'sent');
    expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSPREVIOUS'], [OTHER]: ['AWSCURRENT'] });
    expect(script.sentPasswords).toEqual([OTHER_PASSWORD]);
    expect(providerCalls()).toEqual(['provider:reset', 'provider:awaitSettled', 'provider:assertReady']);
    expect(await world.versionRecord(OTHER)).toEqual({ state: 'applied', expires: true });
    expect(info).toHaveBeenCalledWith('rolling forward a pending password left by an earlier attempt', {
      versionId: OTHER,
    });
  });

  it('discards another version the provider refuses at its first send, and waits for nothing (nothing was applied)', async () => {
    otherPending();
    script.resetFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
    expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
    expect(script.sentPasswords).toEqual([OTHER_PASSWORD]);
    expect(providerCalls()).toEqual(['provider:reset']);
    expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
  });

  it('fails while another version’s send stays unknown: the cluster is in doubt, nothing else may be sent', async () => {
    otherPending();
    await given.version(OTHER, 'sent');
    script.resetFails = new Error('socket hang up');
    await expect(rollForwardFound()).rejects.toThrow('socket hang up');
    expect(providerCalls()).toEqual(['provider:reset']);
    expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
  });

  describe('another version never applied', () => {
    it('refused earlier: discarded without a send, its AWSPENDING removed, its record settled', async () => {
      otherPending();
      await given.version(OTHER, 'refused', {
        error: { code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true },
      });
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
      expect(script.sentPasswords).toEqual([]);
      expect(stageMoves()).toEqual([
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
      ]);
      expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
      expect(info).toHaveBeenCalledWith('discarding a refused pending password', { versionId: OTHER });
    });

    it('refused earlier, under a TTL an earlier release gave its record that has passed: still never sent', async () => {
      otherPending();
      await given.version(OTHER, 'refused', { expiredAt: Date.now() - 86_400_000 });
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
      expect(script.sentPasswords).toEqual([]);
      expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
    });

    it('discarded, but its label removal failed: the discard is finished, sending nothing and rewriting nothing', async () => {
      otherPending();
      await given.version(OTHER, 'discarded', {
        error: { code: 'PROVIDER_REJECTED', message: 'no', retryable: false },
      });
      world.log.length = 0;
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
      expect(script.sentPasswords).toEqual([]);
      expect(world.log).toEqual([
        'ddb:UpdateItem lease',
        'ddb:GetItem lease',
        'sm:DescribeSecret',
        'ddb:GetItem version',
        'sm:UpdateSecretVersionStage AWSPENDING',
        'ddb:UpdateItem version',
        'sm:DescribeSecret',
        'ddb:DeleteItem lease',
      ]);
      expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
    });

    it('holding no password (as a placeholder): removed at once, whatever its age, nothing sent', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING');
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
      expect(stageMoves()).toEqual([
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
      ]);
      expect(script.sentPasswords).toEqual([]);
      expect(world.log).not.toContain('sm:ListSecretVersionIds');
    });
  });

  describe('an empty AWSPENDING version (a rotation Secrets Manager started)', () => {
    it('younger than a lease: in progress, left alone, ROTATION_IN_PROGRESS', async () => {
      given
        .secret()
        .version(PLACEHOLDER, 'AWSCURRENT')
        .version(OTHER, 'AWSPENDING', undefined, { empty: true, ageMs: 60_000 });
      await expect(rollForwardFound()).rejects.toMatchObject({
        code: 'ROTATION_IN_PROGRESS',
        message: 'A Secrets Manager rotation of this secret has started; retry when it has finished',
      });
      expect(stageMoves()).toEqual([]);
      expect(world.stages()[OTHER]).toEqual(['AWSPENDING']);
    });

    it('older than a lease: abandoned, its AWSPENDING removed, and said so in the log', async () => {
      given
        .secret()
        .version(PLACEHOLDER, 'AWSCURRENT')
        .version(OTHER, 'AWSPENDING', undefined, { empty: true, ageMs: 200_000 });
      expect(await rollForwardFound()).toEqual({ [PLACEHOLDER]: ['AWSCURRENT'] });
      expect(stageMoves()).toEqual([
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
      ]);
      expect(info).toHaveBeenCalledWith(
        'discarding an empty pending version of an abandoned Secrets Manager rotation',
        { versionId: OTHER },
      );
    });
  });
});
