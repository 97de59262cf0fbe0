import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import { passwordViolations } from '../../../lib/password/policy.ts';
import { ROTATION_STEPS, type RotationStep, runRotationStep } from '../../../lib/rotation/native.ts';
import { isReplay } from '../../../lib/rotation/replay.ts';
import { rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

const world = rotationWorld();
const { given, script } = world;
/** Secrets Manager's ClientRequestToken of the rotation under test, and the version it names. */
const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';
const ROTATION_TOKEN = 'rotation-token-1';
const OLD = 'a0c1b2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';
const STORED = 'Pending-pw-1!';

const run = (
  step: RotationStep,
  rotationToken: string | null = ROTATION_TOKEN,
  change: Partial<Envelope> = {},
) =>
  runRotationStep(world.deps(), {
    provider: world.provider,
    envelope: {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      secretId: SECRET_NAME,
      storePassword: true,
      dryRun: false,
      idempotencyKey: TOKEN,
      ...change,
    } as Envelope & { idempotencyKey: string },
    credentials: { accessKey: 'AK', secretKey: 'SK' },
    requestId: 'lambda-req-1',
    deadline: Date.now() + 10_000,
    invocationDeadline: Date.now() + 12_000,
    step,
    token: TOKEN,
    ...(rotationToken === null ? {} : { rotationToken }),
  });

/** A rotation Secrets Manager has started: the token's version labelled AWSPENDING, filled or not. */
const started = (password: string | null = STORED) =>
  given
    .secret({ rotationEnabled: true })
    .version(OLD, 'AWSCURRENT', 'old-pw')
    .version(TOKEN, 'AWSPENDING', password ?? undefined, { empty: password === null });

const labelMoves = () => world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
/** A step's answer for the token's version, a generated password stored by Secrets Manager. */
const answer = (extra: object = {}) => ({
  ok: true,
  provider: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  region: 'KR',
  clusterId: '1009123',
  dryRun: false,
  password: { source: 'generated', stored: true, secretArn: `arn:${SECRET_NAME}`, versionId: TOKEN },
  ...extra,
  requestId: 'lambda-req-1',
  idempotencyKey: TOKEN,
  completedAt: expect.any(String),
});

describe('Secrets Manager rotation steps', () => {
  describe('createSecret', () => {
    it('fills the empty AWSPENDING version with a generated password, passing the RotationToken, then lets the lease go', async () => {
      started(null);
      const result = await run('createSecret');
      expect(world.log).toEqual([
        'ddb:UpdateItem lease',
        'ddb:GetItem lease',
        'sm:DescribeSecret',
        'ddb:GetItem version',
        'sm:GetSecretValue',
        'provider:assertReady',
        'sm:PutSecretValue',
        'ddb:DeleteItem lease',
      ]);
      const put = world.sm.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input);
      expect(put).toEqual([
        {
          SecretId: SECRET_NAME,
          ClientRequestToken: TOKEN,
          SecretString: expect.any(String),
          VersionStages: ['AWSPENDING'],
          RotationToken: ROTATION_TOKEN,
        },
      ]);
      const value = JSON.parse(put[0]?.SecretString ?? '{}');
      expect(value).toEqual({
        password: expect.any(String),
        username: 'cmak-admin',
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1009123',
        rotatedAt: expect.any(String),
      });
      expect(passwordViolations(world.provider.passwordPolicy, value.password)).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
      expect(await world.lease()).toBeUndefined();
      expect(result).toEqual(answer());
      expect(JSON.stringify(result)).not.toContain(value.password);
      expect(isReplay(result)).toBe(false);
    });

    it('stores no username when the cluster names none, and no RotationToken when the event had none', async () => {
      started(null);
      script.facts = {};
      await run('createSecret', null);
      const input = world.sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
      expect(input).not.toHaveProperty('RotationToken');
      expect(JSON.parse(input?.SecretString ?? '{}')).not.toHaveProperty('username');
    });

    it('leaves a version that already holds a password alone: a replay, no provider call, no write, the lease let go', async () => {
      started();
      const result = await run('createSecret');
      expect(result).toEqual(answer());
      expect(isReplay(result)).toBe(true);
      expect(world.log.filter((l) => l.startsWith('provider:') || l === 'sm:PutSecretValue')).toEqual([]);
      expect(await world.lease()).toBeUndefined();
    });

    it('refuses to fill a version that holds a value without a password, writing nothing', async () => {
      given
        .secret({ rotationEnabled: true })
        .version(OLD, 'AWSCURRENT', 'old-pw')
        .version(TOKEN, 'AWSPENDING');
      await expect(run('createSecret')).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'The pending secret version holds a value without a password',
      });
      expect(world.sm.commandCalls(PutSecretValueCommand)).toEqual([]);
      expect(world.passwordOf(TOKEN)).toBeUndefined();
      expect(await world.lease()).toBeUndefined();
    });

    it('fails, to be retried, when the version was filled meanwhile by another invocation, keeping its password', async () => {
      started(null);
      world.onNextSmCall('PutSecretValue', () => {
        started('filled-by-another-invocation');
      });
      await expect(run('createSecret')).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'The pending secret version was filled meanwhile; retry',
        retryable: true,
      });
      expect(world.passwordOf(TOKEN)).toBe('filled-by-another-invocation');
      expect(await world.lease()).toBeUndefined();
    });

    it('checks the cluster before it writes a password: an unknown cluster leaves nothing', async () => {
      started(null);
      script.readyFails = new ResetError('CLUSTER_NOT_FOUND', 'gone');
      await expect(run('createSecret')).rejects.toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
      expect(world.sm.commandCalls(PutSecretValueCommand)).toEqual([]);
    });
  });

  describe('setSecret', () => {
    it('records "sent", sends exactly the stored password, records "applied", hands the lease over', async () => {
      started();
      const result = await run('setSecret');
      expect(script.sentPasswords).toEqual([STORED]);
      // A first send waits for nothing: the cluster was found ready.
      expect(world.log.filter((l) => l.startsWith('provider:'))).toEqual([
        'provider:assertReady',
        'provider:reset',
      ]);
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'applied', expires: false });
      // Made current by finishSecret, not here.
      expect(world.stages()[TOKEN]).toEqual(['AWSPENDING']);
      expect(await world.lease()).toEqual({ owner: TOKEN, inDoubt: false, handedOver: true });
      expect(result).toEqual(answer({ providerRequestId: 'provider-req-1' }));
    });

    it('sends nothing for a version recorded as applied, and hands the lease on to testSecret', async () => {
      started();
      await given.version(TOKEN, 'applied');
      expect(await run('setSecret')).toEqual(answer());
      expect(script.sentPasswords).toEqual([]);
      expect(await world.lease()).toEqual({ owner: TOKEN, inDoubt: false, handedOver: true });
    });

    it('keeps a pending version’s record past the TTL an earlier release gave it: a refused re-send is still a re-send', async () => {
      started();
      await given.version(TOKEN, 'sent', { expiredAt: Date.now() - 86_400_000 });
      script.resetFails = new ResetError('PROVIDER_REJECTED', 'no');
      await expect(run('setSecret')).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(world.stages()[TOKEN]).toEqual(['AWSPENDING']);
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'sent', expires: false });
    });

    it('waits for the cluster to settle before a re-send of a version recorded "sent"', async () => {
      started();
      await given.version(TOKEN, 'sent');
      await run('setSecret');
      expect(world.log.filter((l) => l.startsWith('provider:'))).toEqual([
        'provider:awaitSettled',
        'provider:assertReady',
        'provider:reset',
      ]);
    });

    it('a passing refusal at the first send: "refused", AWSPENDING kept, the lease let go; the retry sends it again', async () => {
      started();
      script.resetFails = new ResetError('CLUSTER_STATE_CONFLICT', 'busy');
      await expect(run('setSecret')).rejects.toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'refused', expires: false });
      expect(world.stages()[TOKEN]).toEqual(['AWSPENDING']);
      expect(await world.lease()).toBeUndefined();
      delete script.resetFails;
      await run('setSecret');
      expect(script.sentPasswords).toEqual([STORED, STORED]);
    });

    it('a refusal for good: "discarded", AWSPENDING removed; every retry answers the refusal and sends nothing', async () => {
      started();
      script.resetFails = new ResetError('PASSWORD_POLICY_VIOLATION', 'weak');
      await expect(run('setSecret')).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'discarded', expires: true });
      expect(world.stages()[TOKEN]).toEqual([]);
      await expect(run('setSecret')).rejects.toMatchObject({
        code: 'PASSWORD_POLICY_VIOLATION',
        replayed: true,
      });
      expect(script.sentPasswords).toEqual([STORED]);
    });

    it('an unknown outcome keeps the lease in doubt; the retry re-enters it, and a refusal then proves nothing', async () => {
      started();
      script.resetFails = new Error('socket hang up');
      await expect(run('setSecret')).rejects.toThrow('socket hang up');
      expect(await world.lease()).toEqual({ owner: TOKEN, inDoubt: true, handedOver: true });
      script.resetFails = new ResetError('PROVIDER_REJECTED', 'no');
      await expect(run('setSecret')).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(world.stages()[TOKEN]).toEqual(['AWSPENDING']);
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'sent', expires: false });
      expect(await world.lease()).toMatchObject({ inDoubt: true });
    });
  });

  describe('testSecret', () => {
    it.each([undefined, 'sent', 'refused'] as const)(
      'comes too early before setSecret applied it (record %s)',
      async (state) => {
        started();
        if (state) await given.version(TOKEN, state);
        await expect(run('testSecret')).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
          message:
            'Invalid request: Step comes before setSecret has applied the pending version at the provider',
          fields: [{ field: 'Step' }],
        });
      },
    );

    it('answers ok once the cluster has settled ready, and hands the lease over', async () => {
      started();
      await given.version(TOKEN, 'applied');
      expect(await run('testSecret')).toMatchObject({ ok: true, clusterState: 'ready' });
      expect(await world.lease()).toMatchObject({ handedOver: true });
    });

    it.each([
      [
        'changing',
        'CLUSTER_STATE_CONFLICT',
        'The cluster is still applying the new password; the rotation is retried',
      ],
      ['error', 'PROVIDER_REJECTED', 'The cluster reports an error state after the password change'],
      [undefined, 'PROVIDER_UNAVAILABLE', 'The cluster state could not be read after the password change'],
    ] as const)(
      'fails while the cluster is %s (%s), so that Secrets Manager retries',
      async (settled, code, message) => {
        started();
        await given.version(TOKEN, 'applied');
        script.settled = settled;
        await expect(run('testSecret')).rejects.toMatchObject({ code, message });
      },
    );
  });

  describe('finishSecret', () => {
    it('moves AWSCURRENT to the token, removes its AWSPENDING, settles the record, lets the lease go', async () => {
      started();
      await given.version(TOKEN, 'applied');
      await given.lease(TOKEN, { handedOver: true });
      expect(await run('finishSecret')).toEqual(answer());
      expect(world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
        {
          SecretId: SECRET_NAME,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: TOKEN,
          RemoveFromVersionId: OLD,
        },
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: TOKEN },
      ]);
      expect(world.stages()).toEqual({ [OLD]: ['AWSPREVIOUS'], [TOKEN]: ['AWSCURRENT'] });
      expect(await world.versionRecord(TOKEN)).toEqual({ state: 'applied', expires: true });
      expect(await world.lease()).toBeUndefined();
    });

    it('keeps a lease that is in doubt until it expires', async () => {
      started();
      await given.version(TOKEN, 'applied');
      await given.lease(TOKEN, { inDoubt: true, handedOver: true });
      await run('finishSecret');
      expect(world.stages()[TOKEN]).toEqual(['AWSCURRENT']);
      expect(await world.lease()).toEqual({ owner: TOKEN, inDoubt: true, handedOver: true });
    });

    it('promotes nothing before setSecret has applied the version', async () => {
      started();
      await given.version(TOKEN, 'sent');
      await expect(run('finishSecret')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(world.stages()[TOKEN]).toEqual(['AWSPENDING']);
    });
  });

  describe.each(ROTATION_STEPS)('every step: %s', (step) => {
    it('has nothing left to do for a token already AWSCURRENT (and removes a left-over AWSPENDING)', async () => {
      given.secret().version(OLD, 'AWSPREVIOUS', 'old').version(TOKEN, ['AWSCURRENT', 'AWSPENDING'], STORED);
      expect(isReplay(await run(step))).toBe(true);
      expect(world.stages()[TOKEN]).toEqual(['AWSCURRENT']);
      expect(script.sentPasswords).toEqual([]);
      expect(await world.lease()).toBeUndefined();
    });

    it('has nothing left to do for a token that is AWSCURRENT alone: a replay, no label moved, the lease let go', async () => {
      given.secret().version(OLD, 'AWSPREVIOUS', 'old').version(TOKEN, 'AWSCURRENT', STORED);
      const result = await run(step);
      expect(result).toEqual(answer());
      expect(isReplay(result)).toBe(true);
      expect(labelMoves()).toEqual([]);
      expect(await world.lease()).toBeUndefined();
    });

    it('has nothing left to do for a token no longer pending but recorded "applied"', async () => {
      given.secret().version(OLD, 'AWSCURRENT', 'new').version(TOKEN, 'AWSPREVIOUS', STORED);
      await given.version(TOKEN, 'applied');
      expect(isReplay(await run(step))).toBe(true);
    });

    it('answers the recorded refusal of a discarded token, finishing the discard, sending nothing', async () => {
      started();
      await given.version(TOKEN, 'discarded', {
        error: { code: 'PROVIDER_REJECTED', message: 'no', retryable: false },
      });
      await expect(run(step)).rejects.toMatchObject({ code: 'PROVIDER_REJECTED', replayed: true });
      expect(world.stages()[TOKEN]).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('answers a discarded token whose record (an earlier release’s) kept no refusal as refused earlier, its label long gone', async () => {
      given.secret().version(OLD, 'AWSCURRENT', 'old').version(TOKEN, [], STORED);
      await given.version(TOKEN, 'discarded');
      await expect(run(step)).rejects.toMatchObject({
        code: 'PROVIDER_REJECTED',
        message: 'The provider refused this password earlier',
        replayed: true,
      });
      expect(labelMoves()).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('refuses a token that names no pending version and has no record', async () => {
      given.secret().version(OLD, 'AWSCURRENT', 'old');
      await expect(run(step)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message:
          'Invalid request: ClientRequestToken names no version of the secret that is pending rotation (AWSPENDING); start a new rotation',
        fields: [{ field: 'ClientRequestToken' }],
      });
    });

    it('answers ROTATION_IN_PROGRESS, touching no secret, while another rotation holds the lease', async () => {
      started();
      await given.lease('another-version', { alive: true });
      await expect(run(step)).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
      expect(world.log.filter((l) => l.startsWith('sm:'))).toEqual([]);
    });

    it('refuses an event that names no secret as an internal error, touching nothing', async () => {
      await expect(run(step, ROTATION_TOKEN, { secretId: undefined })).rejects.toMatchObject({
        code: 'INTERNAL',
        message: 'The rotation event named no secret',
      });
      expect(world.log).toEqual([]);
    });

    it('refuses a secret that is gone, or one of another cluster, before anything is read or sent', async () => {
      await expect(run(step)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'Invalid request: SecretId names no secret',
        fields: [{ field: 'SecretId' }],
      });
      given
        .secret({ tags: [{ Key: 'managed-by', Value: 'cluster-password-reset' }] })
        .version(TOKEN, 'AWSPENDING', STORED);
      await expect(run(step)).rejects.toMatchObject({ fields: [{ field: 'SecretId' }] });
      expect(script.sentPasswords).toEqual([]);
    });
  });
});
