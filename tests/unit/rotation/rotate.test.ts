import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Envelope } from '../../../lib/envelope.ts';
import { ResetError } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
import { isReplay } from '../../../lib/rotation/replay.ts';
import { rotatePassword, versionIdFor } from '../../../lib/rotation/rotate.ts';
import { OWN_TAGS, rotationWorld, SECRET_NAME } from '../../support/rotation-world.ts';

const world = rotationWorld();
const { given, script } = world;
const PLACEHOLDER = versionIdFor(SECRET_NAME, '(placeholder)');
const MINE = versionIdFor(SECRET_NAME, 'key-1');
const OTHER = versionIdFor(SECRET_NAME, 'crashed-key');

const rotate = (change: Partial<Envelope> = {}) => rotatePassword(world.deps(), world.request(change));

const refusal = (code: 'PROVIDER_REJECTED' | 'CLUSTER_STATE_CONFLICT' | 'PASSWORD_POLICY_VIOLATION') =>
  new ResetError(code, `refused: ${code}`);
const lostAnswer = () => new Error('socket hang up');
const calls = (prefix: string) => world.log.filter((line) => line.startsWith(prefix));
const labelMoves = () => world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
/** The answer of a rotation of key-1 that stored its password as MINE. */
const storedAnswer = (extra: object = {}) => ({
  ok: true,
  provider: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  region: 'KR',
  clusterId: '1009123',
  dryRun: false,
  password: { source: 'generated', stored: true, secretArn: `arn:${SECRET_NAME}`, versionId: MINE },
  ...extra,
  requestId: 'lambda-req-1',
  idempotencyKey: 'key-1',
  completedAt: expect.any(String),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a rotation asked for under an idempotency key', () => {
  it('binds the key, takes the lease, checks the cluster, stores AWSPENDING, sends, makes it current, releases', async () => {
    given.secret().version(PLACEHOLDER, 'AWSCURRENT');
    const result = await rotate();
    expect(world.log).toEqual([
      'ddb:GetItem key',
      'ddb:PutItem key',
      'ddb:UpdateItem lease',
      'ddb:GetItem lease',
      'provider:assertReady',
      'sm:DescribeSecret',
      'ddb:GetItem binding',
      'ddb:PutItem binding',
      'ddb:GetItem binding',
      'ddb:GetItem version',
      'sm:PutSecretValue',
      'ddb:UpdateItem lease',
      'ddb:PutItem version',
      'provider:reset',
      'ddb:PutItem version',
      'sm:UpdateSecretVersionStage AWSCURRENT',
      'sm:UpdateSecretVersionStage AWSPENDING',
      'ddb:UpdateItem version',
      'ddb:UpdateItem lease',
      'provider:awaitSettled',
      'ddb:PutItem key',
      'ddb:DeleteItem lease',
    ]);
    expect(world.sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET_NAME,
      ClientRequestToken: MINE,
      SecretString: expect.any(String),
      VersionStages: ['AWSPENDING'],
    });
    expect(world.passwordOf(MINE)).toBe(script.sentPasswords[0]);
    expect(world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
      {
        SecretId: SECRET_NAME,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: MINE,
        RemoveFromVersionId: PLACEHOLDER,
      },
      { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE },
    ]);
    expect(world.stages()).toEqual({ [PLACEHOLDER]: ['AWSPREVIOUS'], [MINE]: ['AWSCURRENT'] });
    expect(await world.versionRecord(MINE)).toEqual({ state: 'applied', expires: true });
    expect(await world.keyRecord('key-1')).toEqual({ state: 'completed', expires: true });
    expect(await world.lease()).toBeUndefined();
    expect(result).toEqual({
      ok: true,
      provider: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      region: 'KR',
      clusterId: '1009123',
      dryRun: false,
      password: { source: 'generated', stored: true, secretArn: `arn:${SECRET_NAME}`, versionId: MINE },
      providerRequestId: 'provider-req-1',
      clusterState: 'ready',
      requestId: 'lambda-req-1',
      idempotencyKey: 'key-1',
      completedAt: expect.any(String),
    });
    expect(JSON.stringify(result)).not.toContain(script.sentPasswords[0]);
  });

  it('creates a missing secret with a placeholder first version, so that AWSCURRENT holds no unsent password', async () => {
    await rotate();
    expect(calls('sm:CreateSecret')).toHaveLength(1);
    expect(world.passwordOf(PLACEHOLDER)).toBeUndefined();
    expect(world.stages()).toEqual({ [PLACEHOLDER]: ['AWSPREVIOUS'], [MINE]: ['AWSCURRENT'] });
  });

  it('stores and sends a supplied password as the key’s version, and reports it as supplied', async () => {
    given.secret().version(PLACEHOLDER, 'AWSCURRENT');
    const result = await rotate({ password: 'Supplied-1!' });
    expect(script.sentPasswords).toEqual(['Supplied-1!']);
    expect(world.passwordOf(MINE)).toBe('Supplied-1!');
    expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
    expect(result).toMatchObject({
      password: { source: 'supplied', stored: true, secretArn: `arn:${SECRET_NAME}`, versionId: MINE },
    });
  });

  it('refuses a secret another cluster’s rotation created under the name meanwhile: nothing stored, bound or sent', async () => {
    const anotherCluster = [...OWN_TAGS.slice(0, 3), { Key: 'cluster-id', Value: '1009999' }];
    world.onNextSmCall('CreateSecret', () => {
      given.secret({ tags: anotherCluster }).version(PLACEHOLDER, 'AWSCURRENT');
    });
    const rule = 'names the secret of another cluster (its cluster-id differ)';
    await expect(rotate()).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `Invalid request: secretId ${rule}`,
      fields: [{ field: 'secretId', rule }],
    });
    expect(calls('sm:PutSecretValue')).toEqual([]);
    expect(await world.binding()).toBeUndefined();
    expect(script.sentPasswords).toEqual([]);
  });

  it('checks the cluster before anything is written: an unknown cluster leaves nothing behind', async () => {
    script.readyFails = new ResetError('CLUSTER_NOT_FOUND', 'no such cluster');
    await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    expect(calls('sm:')).toEqual([]);
    expect(script.sentPasswords).toEqual([]);
    expect(await world.lease()).toBeUndefined();
  });

  it('refuses a secret of another cluster before anything is written or sent', async () => {
    given
      .secret({ tags: [{ Key: 'managed-by', Value: 'cluster-password-reset' }] })
      .version(PLACEHOLDER, 'AWSCURRENT');
    await expect(rotate()).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'secretId' }],
    });
    expect(calls('sm:PutSecretValue')).toEqual([]);
    expect(script.sentPasswords).toEqual([]);
  });

  describe('the cluster’s binding (its one secret, its account)', () => {
    it('is written once, by the first rotation that stores a password, and read by every later one', async () => {
      await rotate({ account: 'team-a' });
      expect(await world.binding()).toEqual({ secretName: SECRET_NAME, account: 'team-a' });
      world.log.length = 0;
      await rotate({ idempotencyKey: 'key-2', account: 'team-a' });
      expect(world.log.filter((l) => l.includes('binding'))).toEqual(['ddb:GetItem binding']);
    });

    it('refuses a second secret for a bound cluster: nothing is sent, the cluster’s secret stays current', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await given.binding(SECRET_NAME);
      const other = `${SECRET_NAME}-copy`;
      await expect(rotate({ secretId: other })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'secretId' }],
      });
      expect(script.sentPasswords).toEqual([]);
      expect(calls('sm:PutSecretValue')).toEqual([]);
    });

    it('refuses another account than the bound one', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await given.binding(SECRET_NAME, 'team-a');
      await expect(rotate({ account: 'team-b' })).rejects.toMatchObject({ fields: [{ field: 'account' }] });
      expect(script.sentPasswords).toEqual([]);
    });

    it('keeps a new cluster’s password in its default secret: another name is refused before anything is written', async () => {
      await expect(rotate({ secretId: `${SECRET_NAME}-mine` })).rejects.toMatchObject({
        fields: [{ field: 'secretId' }],
      });
      expect(await world.binding()).toBeUndefined();
      expect(calls('sm:CreateSecret')).toEqual([]);
    });

    it('binds a secret an earlier release created under the cluster’s name, with its ARN, on its first rotation', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await rotate({ secretId: SECRET_NAME });
      expect(await world.binding()).toEqual({ secretName: SECRET_NAME, account: 'default' });
      expect((await world.rawItem('binding#ncloud-cdss#KR#1009123'))?.secretArn).toEqual({
        S: `arn:${SECRET_NAME}`,
      });
    });

    it('refuses a secret created again under the cluster’s name since it was bound (another ARN)', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await world.given.item('binding#ncloud-cdss#KR#1009123', {
        secretName: SECRET_NAME,
        secretArn: `arn:${SECRET_NAME}-before`,
        account: 'default',
      });
      await expect(rotate()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message:
          'Invalid request: secretId names a secret created again since the cluster was bound to it; an operator unbinds the cluster (npm run bind -- --unbind) and its next rotation binds it afresh',
        fields: [{ field: 'secretId' }],
      });
      expect(script.sentPasswords).toEqual([]);
    });

    it('refuses to create the secret again when the bound one was deleted: nothing is created, stored or sent', async () => {
      await world.given.item('binding#ncloud-cdss#KR#1009123', {
        secretName: SECRET_NAME,
        secretArn: `arn:${SECRET_NAME}`,
        account: 'default',
      });
      await expect(rotate()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message:
          'Invalid request: secretId names a secret deleted since the cluster was bound to it; an operator unbinds the cluster (npm run bind -- --unbind) and its next rotation binds it afresh',
        fields: [{ field: 'secretId' }],
      });
      expect(calls('sm:CreateSecret')).toEqual([]);
      expect(calls('sm:PutSecretValue')).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('refuses a deleted secret an operator bound without its ARN too: a binding is written only once its secret exists', async () => {
      await given.binding(SECRET_NAME);
      await expect(rotate()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('secretId names a secret deleted since the cluster was bound to it'),
      });
      expect(calls('sm:CreateSecret')).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('refuses an unstored reset whose bound secret was created again: its pending version is never sent', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', 'planted-by-someone');
      await world.given.item('binding#ncloud-cdss#KR#1009123', {
        secretName: SECRET_NAME,
        secretArn: `arn:${SECRET_NAME}-before`,
        account: 'default',
      });
      await expect(rotate({ password: 'Supplied-1!', storePassword: false })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(
          'secretId names a secret created again since the cluster was bound to it',
        ),
      });
      expect(script.sentPasswords).toEqual([]);
      expect(world.stages()[OTHER]).toEqual(['AWSPENDING']);
    });

    it('takes the secret an operator bound without its ARN as it is, and leaves the binding alone', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await given.binding(SECRET_NAME);
      world.log.length = 0;
      expect(await rotate()).toMatchObject({ ok: true, password: { versionId: MINE } });
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
      expect(world.log.filter((l) => l.includes('binding'))).toEqual(['ddb:GetItem binding']);
      expect(await world.rawItem('binding#ncloud-cdss#KR#1009123')).not.toHaveProperty('secretArn');
    });

    it('lets a concurrent rotation’s binding decide: bound meanwhile to another account, this one is refused before anything is stored', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      world.onNextCall('PutItem', 'binding#', () => given.binding(SECRET_NAME, 'team-b'));
      await expect(rotate()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message:
          'Invalid request: account is not the account the cluster is bound to ("team-b"); an operator moves a cluster with npm run bind',
        fields: [{ field: 'account' }],
      });
      expect(await world.binding()).toEqual({ secretName: SECRET_NAME, account: 'team-b' });
      expect(calls('sm:PutSecretValue')).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    describe('with a project (a cluster named by project, as OTC and Huawei Cloud name them)', () => {
      const tagged = (projectId: string) =>
        given
          .secret({ tags: [...OWN_TAGS, { Key: 'project-id', Value: projectId }] })
          .version(PLACEHOLDER, 'AWSCURRENT');

      it('binds the project with the secret and the account', async () => {
        tagged('p-1');
        await rotate({ projectId: 'p-1' });
        expect(await world.binding()).toEqual({
          secretName: SECRET_NAME,
          account: 'default',
          projectId: 'p-1',
        });
      });

      it('refuses another project than the bound one, sending nothing', async () => {
        tagged('p-2');
        await given.binding(SECRET_NAME, 'default', { projectId: 'p-1' });
        await expect(rotate({ projectId: 'p-2' })).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
          message: 'Invalid request: projectId is not the project the cluster is bound to ("p-1")',
          fields: [{ field: 'projectId' }],
        });
        expect(calls('sm:PutSecretValue')).toEqual([]);
        expect(script.sentPasswords).toEqual([]);
      });
    });
  });

  describe('what follows a send (state-machine.ts)', () => {
    it('a refusal for good at the first send: discarded, AWSPENDING removed, the key answers it to every retry', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      script.resetFails = refusal('PASSWORD_POLICY_VIOLATION');
      await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
      expect(world.stages()[MINE]).toEqual([]);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'discarded', expires: true });
      expect(await world.keyRecord('key-1')).toEqual({ state: 'failed', expires: true });
      expect(await world.lease()).toBeUndefined();
      delete script.resetFails;
      await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION', replayed: true });
      expect(script.sentPasswords).toHaveLength(1);
    });

    it('a passing refusal at the first send: recorded "refused", still pending, the same password sent again by the retry', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      script.resetFails = refusal('CLUSTER_STATE_CONFLICT');
      await expect(rotate()).rejects.toMatchObject({ code: 'CLUSTER_STATE_CONFLICT' });
      expect(world.stages()[MINE]).toEqual(['AWSPENDING']);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'refused', expires: false });
      expect(await world.lease()).toBeUndefined();
      delete script.resetFails;
      await rotate();
      expect(script.sentPasswords).toEqual([script.sentPasswords[0], script.sentPasswords[0]]);
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
    });

    it('an unknown outcome: "sent" kept with no TTL, still pending, the lease in doubt and handed over', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      script.resetFails = lostAnswer();
      await expect(rotate()).rejects.toThrow('socket hang up');
      expect(await world.versionRecord(MINE)).toEqual({ state: 'sent', expires: false });
      expect(world.stages()[MINE]).toEqual(['AWSPENDING']);
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
      // Another key waits for the lease to expire; the same key re-sends the same password.
      await expect(rotate({ idempotencyKey: 'key-2' })).rejects.toMatchObject({
        code: 'ROTATION_IN_PROGRESS',
      });
      delete script.resetFails;
      await rotate();
      expect(script.sentPasswords).toEqual([script.sentPasswords[0], script.sentPasswords[0]]);
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
      // The first send may still land: the lease stays in doubt until it expires.
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
    });

    it('a refused re-send proves nothing: an earlier send may have been applied, so it stays pending as "sent"', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      await given.version(MINE, 'sent');
      const before = world.log.length;
      script.resetFails = refusal('PROVIDER_REJECTED');
      await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(script.sentPasswords).toEqual(['pending-pass']);
      expect(world.stages()[MINE]).toEqual(['AWSPENDING']);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'sent', expires: false });
      expect(await world.keyRecord('key-1')).toEqual({ state: 'started', expires: false });
      // Its record already says "sent": nothing is written to it, before the send or after.
      expect(world.log.slice(before).filter((line) => line === 'ddb:PutItem version')).toEqual([]);
    });

    it('logs every send: applied as info, otherwise a warning with the refusal’s code or the error’s name', async () => {
      const info = vi.spyOn(logger, 'info');
      const warn = vi.spyOn(logger, 'warn');
      const sends = () => [
        ...info.mock.calls.filter(([message]) => message === 'password sent').map((c) => ['info', c[1]]),
        ...warn.mock.calls.filter(([message]) => message === 'password sent').map((c) => ['warn', c[1]]),
      ];
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await rotate();
      expect(sends()).toEqual([
        ['info', { versionId: MINE, whose: 'own', kind: 'first', outcome: 'applied' }],
      ]);
      info.mockClear();
      const second = versionIdFor(SECRET_NAME, 'key-2');
      script.resetFails = refusal('CLUSTER_STATE_CONFLICT');
      await expect(rotate({ idempotencyKey: 'key-2' })).rejects.toMatchObject({
        code: 'CLUSTER_STATE_CONFLICT',
      });
      expect(sends()).toEqual([
        [
          'warn',
          {
            versionId: second,
            whose: 'own',
            kind: 'first',
            outcome: 'refused-for-now',
            code: 'CLUSTER_STATE_CONFLICT',
          },
        ],
      ]);
      warn.mockClear();
      script.resetFails = lostAnswer();
      await expect(rotate({ idempotencyKey: 'key-2' })).rejects.toThrow('socket hang up');
      expect(sends()).toEqual([
        ['warn', { versionId: second, whose: 'own', kind: 'first', outcome: 'unknown', errorName: 'Error' }],
      ]);
    });

    it('a doubt found on entry is never cleared by this invocation, whatever its own send answers', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      await given.version(MINE, 'sent');
      await given.lease(MINE, { inDoubt: true });
      await rotate();
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
    });
  });

  describe('writes that fail', () => {
    it('keeps the lease in doubt when clearing it fails after an answered send: the answer stands', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      world.client.reset = async (password) => {
        script.sentPasswords.push(password);
        // The next lease write after the send is the clearing of its doubt: it fails.
        world.given.writeFails({ command: 'UpdateItem', keyPrefix: 'lease#', times: 1 });
        return { providerRequestId: 'r' };
      };
      expect(await rotate()).toMatchObject({ ok: true });
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
      // Safe side: the lease runs until it expires.
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
    });

    it('answers the refusal when its record needs a second try', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      script.resetFails = refusal('PASSWORD_POLICY_VIOLATION');
      // The first send's "sent" record succeeds; the "discarded" record fails once, then lands.
      let versionWrites = 0;
      world.client.reset = async (password) => {
        script.sentPasswords.push(password);
        versionWrites++;
        world.given.writeFails({ command: 'PutItem', keyPrefix: 'version#', times: 1 });
        throw refusal('PASSWORD_POLICY_VIOLATION');
      };
      await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
      expect(versionWrites).toBe(1);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'discarded', expires: true });
      expect(world.stages()[MINE]).toEqual([]);
    });

    it('gives up recording a send’s answer after three tries: SECRET_STORE_FAILED, the version pending and in doubt', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      // The first send's "sent" record succeeds; the "discarded" record fails three times (a fourth would land).
      world.client.reset = async (password) => {
        script.sentPasswords.push(password);
        world.given.writeFails({ command: 'PutItem', keyPrefix: 'version#', times: 3 });
        throw refusal('PASSWORD_POLICY_VIOLATION');
      };
      await expect(rotate()).rejects.toMatchObject({
        code: 'SECRET_STORE_FAILED',
        message: 'DynamoDB PutItem on the lease table failed (ValidationException)',
      });
      expect(calls('ddb:PutItem version')).toHaveLength(4);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'sent', expires: false });
      expect(world.stages()[MINE]).toEqual(['AWSPENDING']);
      expect(await world.lease()).toEqual({ owner: MINE, inDoubt: true, handedOver: true });
    });
  });

  describe('a retry with the same key', () => {
    it('re-sends the stored pending password, and promotes it', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      await given.version(MINE, 'sent');
      await rotate();
      expect(script.sentPasswords).toEqual(['pending-pass']);
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
    });

    it('only promotes a pending version recorded as applied', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      await given.version(MINE, 'applied');
      await rotate();
      expect(script.sentPasswords).toEqual([]);
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'applied', expires: true });
    });

    it('answers ok, sending nothing and moving no label, for an applied version since superseded', async () => {
      given.secret().version(MINE, 'AWSPREVIOUS', 'old').version(OTHER, 'AWSCURRENT', 'new');
      await given.version(MINE, 'applied');
      expect(await rotate()).toEqual(storedAnswer({ clusterState: 'ready' }));
      expect(script.sentPasswords).toEqual([]);
      expect(labelMoves()).toEqual([]);
      expect(world.stages()).toEqual({ [MINE]: ['AWSPREVIOUS'], [OTHER]: ['AWSCURRENT'] });
    });

    it('answers ok, sending nothing, for its version still current once its records have expired', async () => {
      given.secret().version(PLACEHOLDER, 'AWSPREVIOUS').version(MINE, 'AWSCURRENT', 'sent-long-ago');
      expect(await rotate()).toEqual(storedAnswer());
      expect(script.sentPasswords).toEqual([]);
      expect(labelMoves()).toEqual([]);
      expect(calls('sm:PutSecretValue')).toEqual([]);
    });

    it('labels its version pending again when another rotation discarded it after a passing refusal', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, [], 'refused-pass');
      await given.version(MINE, 'discarded', {
        error: { code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true },
      });
      await rotate();
      expect(script.sentPasswords).toEqual(['refused-pass']);
      expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
    });

    it('answers a version refused for good with the same failure, finishing a discard whose label removal failed', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'refused-pass');
      await given.version(MINE, 'discarded', {
        error: { code: 'PROVIDER_REJECTED', message: 'no', retryable: false },
      });
      await expect(rotate()).rejects.toMatchObject({
        code: 'PROVIDER_REJECTED',
        message: 'no',
        replayed: true,
      });
      expect(script.sentPasswords).toEqual([]);
      expect(world.stages()[MINE]).toEqual([]);
    });

    it('answers a version refused for good whose label is already gone, moving no label', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, [], 'refused-pass');
      await given.version(MINE, 'discarded', {
        error: { code: 'PASSWORD_POLICY_VIOLATION', message: 'too weak', retryable: false },
      });
      await expect(rotate()).rejects.toMatchObject({
        code: 'PASSWORD_POLICY_VIOLATION',
        message: 'too weak',
        replayed: true,
      });
      expect(labelMoves()).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('answers a discarded version whose record (an earlier release’s) kept no refusal as refused earlier', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'refused-pass');
      await given.version(MINE, 'discarded');
      await expect(rotate()).rejects.toMatchObject({
        code: 'PROVIDER_REJECTED',
        message: 'The provider refused this password earlier',
        replayed: true,
      });
      expect(script.sentPasswords).toEqual([]);
      expect(world.stages()[MINE]).toEqual([]);
    });

    it('answers a failed key from its record, without a lease, marked as a replay', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      script.resetFails = refusal('PASSWORD_POLICY_VIOLATION');
      await expect(rotate()).rejects.toMatchObject({ code: 'PASSWORD_POLICY_VIOLATION' });
      world.log.length = 0;
      await expect(rotate()).rejects.toMatchObject({
        code: 'PASSWORD_POLICY_VIOLATION',
        message: 'refused: PASSWORD_POLICY_VIOLATION',
        replayed: true,
      });
      expect(world.log).toEqual(['ddb:GetItem key']);
    });

    it('answers a completed key from its record, without a lease, marked as a replay', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      const first = await rotate();
      world.log.length = 0;
      const again = await rotate();
      expect(again).toEqual(first);
      expect(isReplay(again)).toBe(true);
      expect(isReplay(first)).toBe(false);
      expect(world.log).toEqual(['ddb:GetItem key']);
    });

    it('refuses a key reused for a different request, before and after completion, sending nothing', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await rotate();
      await expect(rotate({ clusterId: '1009999' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'idempotencyKey' }],
      });
      expect(script.sentPasswords).toHaveLength(1);
    });
  });

  describe('time: a key whose records have expired', () => {
    it('answers VALIDATION_FAILED on idempotencyKey once and for all, never a retryable error', async () => {
      // Rotated, superseded, and both records gone: the version id of this key is taken for good.
      given.secret().version(MINE, 'AWSPREVIOUS', 'old').version(OTHER, 'AWSCURRENT', 'new');
      for (let attempt = 0; attempt < 2; attempt++) {
        await expect(rotate()).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
          message:
            'Invalid request: idempotencyKey names a rotation whose records have expired (they are kept 7 days after it settled); use a new key',
          retryable: false,
          fields: [{ field: 'idempotencyKey' }],
        });
      }
      expect(script.sentPasswords).toEqual([]);
      expect(calls('sm:PutSecretValue')).toEqual([]);
    });

    it('the same when the version has lost every label (PutSecretValue would refuse the token)', async () => {
      given.secret().version(OTHER, 'AWSCURRENT', 'new').version(MINE, [], 'old');
      await expect(rotate()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'idempotencyKey' }],
      });
      expect(script.sentPasswords).toEqual([]);
    });

    it('keeps a pending version’s record past the TTL an earlier release gave it: a refused re-send is still a re-send', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'pending-pass');
      await given.version(MINE, 'sent', { expiredAt: Date.now() - 86_400_000 });
      script.resetFails = refusal('PROVIDER_REJECTED');
      await expect(rotate()).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(world.stages()[MINE]).toEqual(['AWSPENDING']);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'sent', expires: false });
    });
  });

  describe('another attempt’s pending version (roll forward)', () => {
    it('is sent and made current before this rotation’s own', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', 'other-pass');
      await rotate();
      expect(script.sentPasswords).toEqual(['other-pass', world.passwordOf(MINE)]);
      expect(world.stages()).toEqual({ [PLACEHOLDER]: [], [OTHER]: ['AWSPREVIOUS'], [MINE]: ['AWSCURRENT'] });
      expect(await world.versionRecord(OTHER)).toEqual({ state: 'applied', expires: true });
      // Each promotion names the version current at its time: this rotation's replaces the other's.
      expect(world.sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input)).toEqual([
        {
          SecretId: SECRET_NAME,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: OTHER,
          RemoveFromVersionId: PLACEHOLDER,
        },
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: OTHER },
        {
          SecretId: SECRET_NAME,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: MINE,
          RemoveFromVersionId: OTHER,
        },
        { SecretId: SECRET_NAME, VersionStage: 'AWSPENDING', RemoveFromVersionId: MINE },
      ]);
    });

    it('is discarded, never sent, when it was refused earlier; then this rotation goes on', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', 'other-pass');
      await given.version(OTHER, 'refused', {
        error: { code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true },
      });
      await rotate();
      expect(script.sentPasswords).toEqual([world.passwordOf(MINE)]);
      expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
    });

    it.each(['PASSWORD_POLICY_VIOLATION', 'CLUSTER_STATE_CONFLICT'] as const)(
      'is discarded when the provider refuses its first send (%s); this rotation goes on',
      async (code) => {
        {
          given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', 'other-pass');
          let first = true;
          world.client.reset = async (password) => {
            script.sentPasswords.push(password);
            if (first) {
              first = false;
              throw refusal(code);
            }
            return { providerRequestId: 'r' };
          };
          await rotate();
          expect(world.stages()[OTHER]).toEqual([]);
          expect(world.stages()[MINE]).toEqual(['AWSCURRENT']);
          expect(await world.versionRecord(OTHER)).toEqual({ state: 'discarded', expires: true });
        }
      },
    );

    it('fails this rotation when its outcome stays unknown: the cluster is in doubt', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(OTHER, 'AWSPENDING', 'other-pass');
      await given.version(OTHER, 'sent');
      script.resetFails = lostAnswer();
      await expect(rotate()).rejects.toThrow('socket hang up');
      expect(script.sentPasswords).toEqual(['other-pass']);
      expect(world.stages()[OTHER]).toEqual(['AWSPENDING']);
      expect(await world.lease()).toMatchObject({ inDoubt: true });
    });

    it('an empty AWSPENDING younger than a lease is a Secrets Manager rotation in progress; an older one is removed', async () => {
      given
        .secret()
        .version(PLACEHOLDER, 'AWSCURRENT')
        .version(OTHER, 'AWSPENDING', undefined, { empty: true });
      await expect(rotate()).rejects.toMatchObject({ code: 'ROTATION_IN_PROGRESS' });
      expect(world.stages()[OTHER]).toEqual(['AWSPENDING']);
      given
        .secret()
        .version(PLACEHOLDER, 'AWSCURRENT')
        .version(OTHER, 'AWSPENDING', undefined, { empty: true, ageMs: 200_000 });
      await rotate({ idempotencyKey: 'key-3' });
      expect(world.stages()[OTHER]).toEqual([]);
      expect(script.sentPasswords).toHaveLength(1);
    });
  });

  describe('a supplied password not stored (storePassword: false)', () => {
    const unstored = { password: 'Supplied-1!', storePassword: false } as const;

    it('is sent under the same lease, with its own records, and no secret version', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      expect(await rotate(unstored)).toMatchObject({
        ok: true,
        password: { source: 'supplied', stored: false },
      });
      expect(script.sentPasswords).toEqual(['Supplied-1!']);
      expect(calls('sm:PutSecretValue')).toEqual([]);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'applied', expires: true });
    });

    it('follows the same rules after an unknown outcome: a later refusal proves nothing and is not final', async () => {
      script.resetFails = lostAnswer();
      await expect(rotate(unstored)).rejects.toThrow('socket hang up');
      script.resetFails = refusal('PROVIDER_REJECTED');
      await expect(rotate(unstored)).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
      expect(await world.keyRecord('key-1')).toEqual({ state: 'started', expires: false });
      delete script.resetFails;
      expect(await rotate(unstored)).toMatchObject({ ok: true });
      expect(script.sentPasswords).toEqual(['Supplied-1!', 'Supplied-1!', 'Supplied-1!']);
    });

    // A key whose answer was not recorded (that write failed) runs again and finds its records.
    it('answers ok without sending again when its record says applied', async () => {
      await given.version(MINE, 'applied');
      expect(await rotate(unstored)).toMatchObject({
        ok: true,
        password: { source: 'supplied', stored: false },
      });
      expect(script.sentPasswords).toEqual([]);
    });

    it('answers the recorded refusal for good without sending again', async () => {
      await given.version(MINE, 'discarded', {
        error: { code: 'PASSWORD_POLICY_VIOLATION', message: 'too weak', retryable: false },
      });
      await expect(rotate(unstored)).rejects.toMatchObject({
        code: 'PASSWORD_POLICY_VIOLATION',
        message: 'too weak',
        replayed: true,
      });
      expect(script.sentPasswords).toEqual([]);
    });

    it('answers a discarded record that kept no refusal (an earlier release’s) as refused earlier', async () => {
      await given.version(MINE, 'discarded');
      await expect(rotate(unstored)).rejects.toMatchObject({
        code: 'PROVIDER_REJECTED',
        message: 'The provider refused this password earlier',
        replayed: true,
      });
      expect(script.sentPasswords).toEqual([]);
    });

    it('is a new reset once its records have expired: the password is sent again', async () => {
      await given.version(MINE, 'applied', { expiredAt: Date.now() - 86_400_000 });
      expect(await rotate(unstored)).toMatchObject({ ok: true, providerRequestId: 'provider-req-1' });
      expect(script.sentPasswords).toEqual(['Supplied-1!']);
      expect(await world.versionRecord(MINE)).toEqual({ state: 'applied', expires: true });
    });
  });

  describe('a dry run (preflight)', () => {
    it('checks the key, the cluster and the secret read-only, and writes nothing', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      const result = await rotate({ dryRun: true });
      expect(result).toMatchObject({
        ok: true,
        dryRun: true,
        password: { source: 'generated', stored: false },
        request: { method: 'POST' },
        preflight: { idempotencyKey: 'unused', cluster: 'ready', secret: 'exists' },
      });
      expect(world.log).toEqual([
        'ddb:GetItem key',
        'provider:assertReady',
        'sm:DescribeSecret',
        'ddb:GetItem binding',
        'provider:prepareReset',
      ]);
    });

    it('reports a supplied password, and no secret used when the password is not to be stored', async () => {
      expect(await rotate({ dryRun: true, password: 'Supplied-1!', storePassword: false })).toMatchObject({
        password: { source: 'supplied', stored: false },
        preflight: { idempotencyKey: 'unused', cluster: 'ready', secret: 'not-used' },
      });
      // Read all the same: a real unstored reset may send another attempt's pending version from it.
      expect(calls('sm:')).toEqual(['sm:DescribeSecret']);
    });

    it('refuses, as a real run would, a bound secret deleted or created again since', async () => {
      await world.given.item('binding#ncloud-cdss#KR#1009123', {
        secretName: SECRET_NAME,
        secretArn: `arn:${SECRET_NAME}-before`,
        account: 'default',
      });
      await expect(rotate({ dryRun: true })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('secretId names a secret deleted since the cluster was bound to it'),
      });
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await expect(rotate({ dryRun: true })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(
          'secretId names a secret created again since the cluster was bound to it',
        ),
      });
      expect(calls('sm:').filter((c) => c !== 'sm:DescribeSecret')).toEqual([]);
      expect(script.sentPasswords).toEqual([]);
    });

    it('reports a secret still to be created, and creates none', async () => {
      expect(await rotate({ dryRun: true })).toMatchObject({
        password: { source: 'generated', stored: false },
        preflight: { idempotencyKey: 'unused', cluster: 'ready', secret: 'to-be-created' },
      });
      expect(calls('sm:')).toEqual(['sm:DescribeSecret']);
    });

    it('honours the key’s binding: a key bound to another cluster is refused', async () => {
      given.secret().version(PLACEHOLDER, 'AWSCURRENT');
      await rotate();
      await expect(rotate({ dryRun: true, clusterId: '1009999' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ field: 'idempotencyKey' }],
      });
      expect(await rotate({ dryRun: true })).toMatchObject({
        preflight: { idempotencyKey: 'bound-to-this-request' },
      });
    });

    it('answers what a real run would: a cluster the provider does not know', async () => {
      script.readyFails = new ResetError('CLUSTER_NOT_FOUND', 'no such cluster');
      await expect(rotate({ dryRun: true })).rejects.toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    });
  });

  it('answers success when only recording the result or leaving the lease fails', async () => {
    given.secret().version(PLACEHOLDER, 'AWSCURRENT');
    world.given.answerLost({ command: 'PutItem', keyPrefix: 'key#', nth: 2 });
    expect(await rotate()).toMatchObject({ ok: true });
  });

  it('derives distinct, valid Secrets Manager version ids per secret and key', () => {
    const ids = new Set([versionIdFor('a', 'k'), versionIdFor('b', 'k'), versionIdFor('a', 'l')]);
    expect(ids.size).toBe(3);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});
