import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaFunctionArn } from '../../sandbox/aws.ts';
import { lambdaContext } from '../support/events.ts';
import { invokeInMode, useSuite } from './suite.ts';

// Identity that tags cannot move (docs/security.md): a cluster's secret and credentials account are
// bound once, by the functions, in the lease table. An attacker who can retag a secret, or create
// one under the stage's prefix, gets no cluster's password and rotates nothing; a caller cannot
// move a cluster's password to a second secret.

const suite = useSuite();
const PROVIDER_IDS = [['ncloud-cdss'], ['otc-css']] as const;
const functionArn = (providerId: string) => lambdaFunctionArn(`itest-${providerId}`);
let secretsManager: SecretsManagerClient;

beforeAll(() => {
  secretsManager = new SecretsManagerClient({});
  for (const [providerId] of PROVIDER_IDS) {
    suite.sandbox.aws.rotationFunctions.set(functionArn(providerId), (event) =>
      suite.handler(providerId)(event, lambdaContext()),
    );
  }
});

const rotateSecret = (providerId: string, secretId: string) =>
  secretsManager
    .send(
      new RotateSecretCommand({
        SecretId: secretId,
        RotationLambdaARN: functionArn(providerId),
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      }),
    )
    .then(
      () => {
        const run = suite.sandbox.aws.rotations.at(-1);
        return run?.finished
          ? 'rotated'
          : `failed at ${run?.steps.at(-1)?.step}: ${run?.steps.at(-1)?.errorType}`;
      },
      (error: Error) => error.name,
    );

const rotate = (providerId: string, clusterId: string, fields: Record<string, unknown> = {}) =>
  invokeInMode(suite.handler(providerId), 'direct', {
    envelope: { provider: providerId, region: suite.harness(providerId).region, clusterId, ...fields },
    httpEvent: () => undefined,
  });

/** `npm run bind -- --stage itest --cluster <provider>/<region>/<clusterId> …` against the suite's table. */
const npmRunBind = (providerId: string, clusterId: string, ...args: string[]) =>
  promisify(execFile)(
    process.execPath,
    [
      'scripts/bind.ts',
      '--stage',
      'itest',
      '--table',
      process.env.LOCK_TABLE as string,
      '--cluster',
      `${providerId}/${suite.harness(providerId).region}/${clusterId}`,
      ...args,
    ],
    { env: process.env },
  );

const current = (providerId: string, clusterId: string) => {
  const password = suite.sandbox.aws.secretValue(suite.secretName(providerId, clusterId))?.password as string;
  suite.secretsUsed.add(password);
  return password;
};

describe.each(PROVIDER_IDS)('%s', (providerId) => {
  const harness = () => suite.harness(providerId);

  it('a secret retagged as another cluster rotates nothing: neither cluster is reset', async () => {
    const a = suite.cluster(providerId).id;
    const b = suite.cluster(providerId);
    expect((await rotate(providerId, a)).ok).toBe(true);
    const aPassword = current(providerId, a);
    const secret = suite.sandbox.aws.secrets.get(suite.secretName(providerId, a));
    secret?.tags.splice(
      0,
      secret.tags.length,
      ...(secret.tags as Array<{ Key: string; Value: string }>).map((tag) =>
        tag.Key === 'cluster-id'
          ? { ...tag, Value: b.id }
          : tag.Key === 'account'
            ? { ...tag, Value: 'wrongkey' }
            : tag,
      ),
    );
    const resetsBefore = harness().calls(b.id, 'reset').length + harness().calls(a, 'reset').length;
    expect(await rotateSecret(providerId, suite.secretName(providerId, a))).toBe(
      'failed at createSecret: ValidationFailed',
    );
    expect(harness().calls(b.id, 'reset').length + harness().calls(a, 'reset').length).toBe(resetsBefore);
    expect(harness().clusterPassword(b.id)).toBe(b.initialPassword);
    expect(harness().clusterPassword(a)).toBe(aPassword);
    expect(current(providerId, a)).toBe(aPassword);
  });

  it('a secret someone else created under a cluster’s name, with its tags, rotates nothing', async () => {
    const b = suite.cluster(providerId);
    const name = suite.secretName(providerId, b.id);
    const region = harness().region;
    await secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ provider: providerId, region, clusterId: b.id }),
        Tags: [
          { Key: 'managed-by', Value: 'cluster-password-reset' },
          { Key: 'provider', Value: providerId },
          { Key: 'region', Value: region },
          { Key: 'cluster-id', Value: b.id },
          { Key: 'account', Value: 'default' },
        ],
      }),
    );
    expect(await rotateSecret(providerId, name)).toBe('failed at createSecret: ValidationFailed');
    expect(harness().calls(b.id, 'reset')).toEqual([]);
    expect(harness().clusterPassword(b.id)).toBe(b.initialPassword);
  });

  it('a second secretId for a bound cluster is refused; the cluster’s secret stays current', async () => {
    const { id } = suite.cluster(providerId);
    expect((await rotate(providerId, id)).ok).toBe(true);
    const password = current(providerId, id);
    const second = `${suite.secretPrefix}/${providerId}/second-${id}`;
    const answer = await rotate(providerId, id, { secretId: second });
    expect(answer).toMatchObject({ thrown: 'ValidationFailed' });
    expect(JSON.stringify(answer)).toContain('secretId');
    expect(suite.sandbox.aws.secrets.has(second)).toBe(false);
    expect(harness().clusterPassword(id)).toBe(password);
    expect(current(providerId, id)).toBe(password);
  });

  it('a request naming another account than the bound one is refused before its credentials are read', async () => {
    const { id } = suite.cluster(providerId);
    expect((await rotate(providerId, id)).ok).toBe(true);
    const answer = await rotate(providerId, id, { account: 'wrongkey' });
    expect(answer).toMatchObject({ thrown: 'ValidationFailed' });
    expect(JSON.stringify(answer)).toContain('account');
  });

  it('a bound cluster’s secret is rotated by Secrets Manager with the bound account, whatever its tags say', async () => {
    const { id } = suite.cluster(providerId);
    expect((await rotate(providerId, id)).ok).toBe(true);
    const name = suite.secretName(providerId, id);
    const secret = suite.sandbox.aws.secrets.get(name);
    secret?.tags.splice(
      0,
      secret.tags.length,
      ...(secret.tags as Array<{ Key: string; Value: string }>).map((tag) =>
        tag.Key === 'account' ? { ...tag, Value: 'wrongkey' } : tag,
      ),
    );
    expect(await rotateSecret(providerId, name)).toBe('rotated');
    expect(harness().clusterPassword(id)).toBe(current(providerId, id));
  });

  it('an operator moves a bound cluster to another account with npm run bind; the next rotation uses it', async () => {
    const { id } = suite.cluster(providerId);
    expect((await rotate(providerId, id)).ok).toBe(true);
    const bind = (...args: string[]) => npmRunBind(providerId, id, ...args);
    // The binding must name the account it is moved from.
    await expect(bind('--account', 'wrongkey', '--from', 'someone')).rejects.toMatchObject({
      stderr: expect.stringContaining('is bound to account "default", not "someone"'),
    });
    const moved = await bind('--account', 'wrongkey', '--from', 'default');
    expect(JSON.parse(moved.stdout)).toMatchObject({ account: 'wrongkey', movedFrom: 'default' });
    // The next rotation signs with the moved account's keys, which this provider refuses.
    const answer = await rotate(providerId, id);
    expect(answer).toMatchObject({ thrown: 'ProviderAuthFailed' });
  });

  it('a bound secret deleted since is not created again: refused until an operator unbinds the cluster with npm run bind', async () => {
    const { id } = suite.cluster(providerId);
    expect((await rotate(providerId, id)).ok).toBe(true);
    const password = current(providerId, id);
    const name = suite.secretName(providerId, id);
    suite.sandbox.aws.secrets.delete(name);
    const refused = await rotate(providerId, id);
    expect(refused).toMatchObject({ thrown: 'ValidationFailed' });
    expect(JSON.stringify(refused)).toContain('names a secret deleted since the cluster was bound to it');
    expect(suite.sandbox.aws.secrets.has(name)).toBe(false);
    expect(harness().clusterPassword(id)).toBe(password);
    // Only from the account the binding names.
    await expect(npmRunBind(providerId, id, '--account', 'someone', '--unbind')).rejects.toMatchObject({
      stderr: expect.stringContaining('is bound to account "default", not "someone"'),
    });
    const unbound = await npmRunBind(providerId, id, '--account', 'default', '--unbind');
    expect(JSON.parse(unbound.stdout)).toMatchObject({
      unbound: { secretName: name, account: 'default' },
      secretNow: null,
    });
    // The next rotation creates the secret and binds the cluster to it afresh.
    expect((await rotate(providerId, id)).ok).toBe(true);
    expect(harness().clusterPassword(id)).toBe(current(providerId, id));
    expect(harness().clusterPassword(id)).not.toBe(password);
    expect(await rotateSecret(providerId, name)).toBe('rotated');
  });
});
