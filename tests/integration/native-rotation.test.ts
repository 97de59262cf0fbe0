import {
  CreateSecretCommand,
  InvalidRequestException,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaFunctionArn } from '../../sandbox/aws.ts';
import { lambdaContext } from '../support/events.ts';
import { invokeInMode, type Suite, useSuite } from './suite.ts';

// Secrets Manager's own rotation, played by the sandbox: RotateSecret labels an empty AWSPENDING
// version and invokes the unchanged handler with createSecret, setSecret, testSecret and
// finishSecret, as Secrets Manager does. One protocol with the other modes: each finishes what the
// other left pending, and at every point the cluster's password is AWSCURRENT or AWSPENDING.

const suite = useSuite();
const PROVIDER_IDS = [['ncloud-cdss'], ['otc-css'], ['huaweicloud-css']] as const;
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
  secretsManager.send(
    new RotateSecretCommand({
      SecretId: secretId,
      RotationLambdaARN: functionArn(providerId),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    }),
  );

/** One step as Secrets Manager invokes it; answers the result, or the thrown error's name. */
const step = async (
  providerId: string,
  Step: string,
  SecretId: string,
  ClientRequestToken: string,
): Promise<any> => {
  try {
    return await suite.handler(providerId)({ Step, SecretId, ClientRequestToken }, lambdaContext());
  } catch (error) {
    return { thrown: (error as Error).name, message: (error as Error).message };
  }
};

const directRotation = (providerId: string, clusterId: string, fields: Record<string, unknown> = {}) =>
  invokeInMode(suite.handler(providerId), 'direct', {
    envelope: { provider: providerId, region: suite.harness(providerId).region, clusterId, ...fields },
    httpEvent: () => undefined,
  });

const labelled = (suite: Suite, name: string, stage: string) => {
  const value = suite.sandbox.aws.secretValue(name, stage);
  if (typeof value?.password === 'string') suite.secretsUsed.add(value.password);
  return value;
};

/** The invariant: the provider's password is the secret's AWSCURRENT or AWSPENDING. */
const expectInvariant = (providerId: string, clusterId: string) => {
  const name = suite.secretName(providerId, clusterId);
  const atProvider = suite.harness(providerId).clusterPassword(clusterId);
  const held = [labelled(suite, name, 'AWSCURRENT')?.password, labelled(suite, name, 'AWSPENDING')?.password];
  expect(held).toContain(atProvider);
};

/** Converged: AWSCURRENT is the cluster's password and nothing is pending. */
const expectConverged = (providerId: string, clusterId: string) => {
  const name = suite.secretName(providerId, clusterId);
  expect(labelled(suite, name, 'AWSCURRENT')?.password).toBe(
    suite.harness(providerId).clusterPassword(clusterId),
  );
  expect(suite.sandbox.aws.secretValue(name, 'AWSPENDING')).toBeUndefined();
  const versions = suite.sandbox.aws.secrets.get(name)?.versions ?? new Map();
  expect([...versions.values()].filter((v) => v.stages.has('AWSPENDING'))).toEqual([]);
};

const rotationsOf = (name: string) => suite.sandbox.aws.rotations.filter((r) => r.secretName === name);
const outcomeTypes = (clusterId: string) =>
  suite.sandbox.aws.events
    .filter((event) => JSON.parse(event.Detail ?? '{}').clusterId === clusterId)
    .map((event) => event.DetailType);

const outcomeCallers = (clusterId: string) =>
  suite.sandbox.aws.events
    .map((event) => JSON.parse(event.Detail ?? '{}'))
    .filter((detail) => detail.clusterId === clusterId)
    .map((detail) => detail.caller);

/** A cluster whose secret the project created with a first (direct) rotation. */
const rotatedOnce = async (providerId: string) => {
  const { id } = suite.cluster(providerId);
  expect((await directRotation(providerId, id)).ok).toBe(true);
  return { id, name: suite.secretName(providerId, id) };
};

describe.each(PROVIDER_IDS)('%s as the secret rotation function', (providerId) => {
  it('rotates a secret the project created: one RotateSecret, four steps, one new password', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const before = labelled(suite, name, 'AWSCURRENT')?.password;
    const resets = suite.harness(providerId).calls(id, 'reset').length;

    const answer = await rotateSecret(providerId, name);

    expect(rotationsOf(name)).toEqual([
      {
        secretName: name,
        token: answer.VersionId,
        finished: true,
        steps: ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((s) => ({
          step: s,
          ok: true,
        })),
      },
    ]);
    expectConverged(providerId, id);
    const current = labelled(suite, name, 'AWSCURRENT');
    expect(current?.password).not.toBe(before);
    expect(current).toMatchObject({ provider: providerId, clusterId: id });
    // The token's version is the one made current; the provider got exactly one reset.
    expect(
      suite.sandbox.aws.secrets
        .get(name)
        ?.versions.get(answer.VersionId as string)
        ?.stages.has('AWSCURRENT'),
    ).toBe(true);
    expect(suite.harness(providerId).calls(id, 'reset').length - resets).toBe(1);
    // One outcome event per rotation (finishSecret's), as for every other way of rotating.
    expect(outcomeTypes(id)).toEqual([
      'Cluster Password Reset Succeeded',
      'Cluster Password Reset Succeeded',
    ]);
    // Who asked: the direct first rotation, then a rotation event (a claim, like a direct caller:
    // anyone allowed to invoke the function can send one).
    expect(outcomeCallers(id)).toEqual(['direct invocation', 'rotation event']);
  });

  it('retries a failed setSecret with the same token and converges, the invariant holding throughout', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const harness = suite.harness(providerId);
    // The provider applies the reset but the answer never arrives: an unknown outcome.
    harness.addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    const first = await rotateSecret(providerId, name);
    expect(rotationsOf(name)[0]?.steps).toEqual([
      { step: 'createSecret', ok: true },
      { step: 'setSecret', ok: false, errorType: 'ProviderUnavailable' },
    ]);
    expectInvariant(providerId, id);
    expect(labelled(suite, name, 'AWSPENDING')?.password).toBe(harness.clusterPassword(id));

    // Secrets Manager tries the unfinished rotation again, with its token, and refuses a new one.
    await expect(rotateSecret(providerId, name)).rejects.toBeInstanceOf(InvalidRequestException);
    const retried = rotationsOf(name)[1];
    expect(retried).toMatchObject({ token: first.VersionId, finished: true });
    expectConverged(providerId, id);
  });

  it('sends a busy refusal again on the retry: refused is not discarded', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const harness = suite.harness(providerId);
    const busy = harness.resetAnswers.find((answer) => answer.code === 'CLUSTER_STATE_CONFLICT');
    expect(busy).toBeDefined();
    harness.addFault({ operation: 'reset', clusterId: id, ...busy?.fault });
    await rotateSecret(providerId, name);
    expect(rotationsOf(name)[0]?.steps.at(-1)).toEqual({
      step: 'setSecret',
      ok: false,
      errorType: 'ClusterStateConflict',
    });
    expectInvariant(providerId, id);
    await expect(rotateSecret(providerId, name)).rejects.toBeInstanceOf(InvalidRequestException);
    expect(rotationsOf(name)[1]?.finished).toBe(true);
    expectConverged(providerId, id);
  });

  it('repeats a finished rotation without changing anything', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const { VersionId } = await rotateSecret(providerId, name);
    const password = suite.harness(providerId).clusterPassword(id);
    const resets = suite.harness(providerId).calls(id, 'reset').length;
    const events = suite.sandbox.aws.events.length;
    for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      expect(await step(providerId, s, name, VersionId as string)).toMatchObject({ ok: true });
    }
    expect(suite.harness(providerId).clusterPassword(id)).toBe(password);
    expect(suite.harness(providerId).calls(id, 'reset').length).toBe(resets);
    expect(suite.sandbox.aws.events.length).toBe(events);
    expectConverged(providerId, id);
  });

  it('finishes an HTTP rotation left pending (unknown outcome), and the HTTP retry then answers done', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const harness = suite.harness(providerId);
    harness.addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    const key = `left-pending-${id}`;
    expect(await directRotation(providerId, id, { idempotencyKey: key })).toMatchObject({
      thrown: 'ProviderUnavailable',
    });
    const pending = labelled(suite, name, 'AWSPENDING')?.password;
    expect(pending).toBe(harness.clusterPassword(id));

    // The pending version is an unfinished rotation to Secrets Manager: it finishes that one.
    await expect(rotateSecret(providerId, name)).rejects.toBeInstanceOf(InvalidRequestException);
    expect(rotationsOf(name)[0]?.finished).toBe(true);
    expectConverged(providerId, id);
    expect(labelled(suite, name, 'AWSCURRENT')?.password).toBe(pending);

    const resets = harness.calls(id, 'reset').length;
    expect(await directRotation(providerId, id, { idempotencyKey: key })).toMatchObject({ ok: true });
    expect(harness.calls(id, 'reset').length).toBe(resets);
    expectConverged(providerId, id);
  });

  it('lets an HTTP rotation finish a native one left pending, after its lease', async () => {
    const { id, name } = await rotatedOnce(providerId);
    const harness = suite.harness(providerId);
    harness.addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    const { VersionId } = await rotateSecret(providerId, name);
    const nativePassword = labelled(suite, name, 'AWSPENDING')?.password;
    expect(nativePassword).toBe(harness.clusterPassword(id));

    // The provider may still apply the native password: nobody else goes on until the lease expires.
    expect(await directRotation(providerId, id)).toMatchObject({ thrown: 'RotationInProgress' });
    expectInvariant(providerId, id);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await directRotation(providerId, id)).toMatchObject({ ok: true });
    expectConverged(providerId, id);
    const secret = suite.sandbox.aws.secrets.get(name);
    // Rolled forward (made current) before the HTTP rotation's own password replaced it.
    expect(secret?.everCurrent.has(VersionId as string)).toBe(true);

    // Secrets Manager's retry of its rotation finds nothing left to do.
    const resets = harness.calls(id, 'reset').length;
    for (const s of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      expect(await step(providerId, s, name, VersionId as string)).toMatchObject({ ok: true });
    }
    expect(harness.calls(id, 'reset').length).toBe(resets);
    expectConverged(providerId, id);
  });

  it('counts a young empty AWSPENDING as a rotation in progress, and discards it once abandoned', async () => {
    const { id, name } = await rotatedOnce(providerId);
    // A rotation function that never fills the version: Secrets Manager's rotation stalls.
    const stalled = lambdaFunctionArn(`itest-stalled-${providerId}`);
    suite.sandbox.aws.rotationFunctions.set(stalled, async () => undefined);
    await secretsManager.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: stalled }));
    expect(await directRotation(providerId, id)).toMatchObject({ thrown: 'RotationInProgress' });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await directRotation(providerId, id)).toMatchObject({ ok: true });
    expectConverged(providerId, id);
  });
});

describe('secrets the rotation function refuses', () => {
  it('refuses a secret of another provider, one without identity tags, and one with rotation off', async () => {
    const { name: otcSecret } = await rotatedOnce('otc-css');
    const ncloudResets = suite.harness('ncloud-cdss').allCalls().length;
    const token = '0123456789abcdef0123456789abcdef';

    // The OTC secret, handed to the Naver function.
    const foreign = await step('ncloud-cdss', 'createSecret', otcSecret, token);
    expect(foreign).toMatchObject({ thrown: 'ValidationFailed' });
    expect(foreign.message).toContain('SecretId');

    const untagged = `${suite.secretPrefix}/ncloud-cdss/KR/untagged`;
    await secretsManager.send(new CreateSecretCommand({ Name: untagged, SecretString: '{}' }));
    await rotateSecret('ncloud-cdss', untagged);
    expect(rotationsOf(untagged)[0]?.steps).toEqual([
      { step: 'createSecret', ok: false, errorType: 'ValidationFailed' },
    ]);

    // Rotation off: a direct invocation with a rotation event for a secret never configured for it.
    const { name: ncloudSecret } = await rotatedOnce('ncloud-cdss');
    const callsBefore = suite.harness('ncloud-cdss').allCalls().length;
    expect(await step('ncloud-cdss', 'setSecret', ncloudSecret, token)).toMatchObject({
      thrown: 'ValidationFailed',
      message: expect.stringContaining('rotation turned off'),
    });
    expect(suite.harness('ncloud-cdss').allCalls().length).toBe(callsBefore);
    expect(ncloudResets).toBeLessThanOrEqual(callsBefore);
  });

  it.each([
    [
      { Step: 'rotateEverything', SecretId: 'x', ClientRequestToken: '0123456789abcdef0123456789abcdef' },
      'Step',
    ],
    [{ Step: 'createSecret', SecretId: 'x', ClientRequestToken: 'short' }, 'ClientRequestToken'],
    [
      {
        Step: 'createSecret',
        SecretId: 'x',
        ClientRequestToken: '0123456789abcdef0123456789abcdef',
        password: 'p',
      },
      'password',
    ],
  ])(
    'answers a malformed rotation event %j with the field it broke, sending nothing',
    async (event, field) => {
      const before = suite.harness('otc-css').allCalls().length;
      const awsBefore = suite.sandbox.aws.calls.length;
      const error = await suite
        .handler('otc-css')(event, lambdaContext())
        .catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'ValidationFailed' });
      expect((error as Error).message).toContain(field);
      expect(suite.harness('otc-css').allCalls().length).toBe(before);
      // Not even Secrets Manager was asked.
      expect(
        suite.sandbox.aws.calls.slice(awsBefore).filter((c) => c.target.startsWith('secretsmanager')),
      ).toEqual([]);
    },
  );
});
