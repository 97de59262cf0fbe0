import { randomUUID } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaFunctionArn } from '../../sandbox/aws.ts';
import type { Invoke } from '../../sandbox/lambda-invoke.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { trackSecret } from '../support/leak-scan.ts';

// The sandbox playing Secrets Manager's part in native rotation: RotateSecret labels an empty
// version AWSPENDING and invokes the rotation function with each step, as the real service does.
// The rotation function here is a minimal fake that talks to the sandbox over the SDK.

const FUNCTION_ARN = lambdaFunctionArn('cluster-password-reset-local-otcCssResetAdminPassword');
const RULES = { ScheduleExpression: 'rate(30 days)' };

interface RotationEvent {
  Step: string;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken: string;
}

let sandbox: Sandbox;
let client: SecretsManagerClient;

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/** What the fake rotation function saw during createSecret, before it filled the version. */
interface Observed {
  pendingRead?: string;
  listed?: Array<{ VersionId?: string; VersionStages?: string[]; CreatedDate?: Date }>;
  pendingValue?: unknown;
}

/**
 * A minimal rotation function: createSecret stores a new value under the token, labelled
 * AWSPENDING; finishSecret moves AWSCURRENT to it. `failAt` makes one step throw.
 */
const fakeRotationFunction = () => {
  const events: RotationEvent[] = [];
  const observed: Observed = {};
  const state = { failAt: undefined as string | undefined, values: [] as string[] };
  const invoke: Invoke = async (payload) => {
    const event = payload as RotationEvent;
    events.push(event);
    if (state.failAt === event.Step) throw named('ProviderRefused', 'refused: hunter2-not-a-secret');
    const { SecretId, ClientRequestToken } = event;
    if (event.Step === 'createSecret') {
      const read = await client
        .send(new GetSecretValueCommand({ SecretId, VersionId: ClientRequestToken }))
        .then(
          () => 'found',
          (error: Error) => error.name,
        );
      // A re-attempt whose createSecret already stored the value: nothing to do.
      if (read === 'found') return null;
      observed.pendingRead = read;
      observed.listed = (await client.send(new ListSecretVersionIdsCommand({ SecretId }))).Versions;
      observed.pendingValue = sandbox.aws.secretValue(NAME, 'AWSPENDING');
      // Nothing to collect from an empty version.
      sandbox.secretMaterial();
      const password = `rotated-${randomUUID()}`;
      state.values.push(password);
      await client.send(
        new PutSecretValueCommand({
          SecretId,
          ClientRequestToken,
          SecretString: JSON.stringify({ password }),
          VersionStages: ['AWSPENDING'],
          RotationToken: event.RotationToken,
        }),
      );
    }
    if (event.Step === 'finishSecret') {
      const described = await client.send(new DescribeSecretCommand({ SecretId }));
      const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) =>
        stages.includes('AWSCURRENT'),
      )?.[0];
      if (current !== ClientRequestToken) {
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: ClientRequestToken,
            RemoveFromVersionId: current,
          }),
        );
      }
    }
    return null;
  };
  return { invoke, events, observed, state };
};

let NAME = '';
let rotation: ReturnType<typeof fakeRotationFunction>;
let initialVersion: string;

const describeSecret = () => client.send(new DescribeSecretCommand({ SecretId: NAME }));
const current = () => client.send(new GetSecretValueCommand({ SecretId: NAME }));
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => ({
      name: error.name,
      message: error.message,
      status: error.$metadata?.httpStatusCode,
    }),
  );

beforeAll(async () => {
  sandbox = await startSandbox();
  client = new SecretsManagerClient({
    endpoint: sandbox.urls.aws,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  trackSecret(...sandbox.secretMaterial());
  client.destroy();
  await sandbox.close();
});

beforeEach(async () => {
  NAME = `rotation-test/${randomUUID()}`;
  rotation = fakeRotationFunction();
  sandbox.aws.rotationFunctions.set(FUNCTION_ARN, rotation.invoke);
  const created = await client.send(
    new CreateSecretCommand({
      Name: NAME,
      SecretString: JSON.stringify({ password: `initial-${randomUUID()}` }),
    }),
  );
  initialVersion = created.VersionId as string;
});

describe('RotateSecret', () => {
  it('labels an empty version AWSPENDING, then invokes the four steps in order', async () => {
    const token = randomUUID();
    const answer = await client.send(
      new RotateSecretCommand({
        SecretId: NAME,
        ClientRequestToken: token,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: RULES,
      }),
    );
    const { ARN } = await describeSecret();
    expect(answer).toMatchObject({ ARN, Name: NAME, VersionId: token });

    expect(rotation.events.map((e) => e.Step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    const rotationToken = rotation.events[0]?.RotationToken;
    expect(rotationToken).toEqual(expect.any(String));
    for (const event of rotation.events) {
      expect(event).toEqual({
        Step: event.Step,
        SecretId: ARN,
        ClientRequestToken: token,
        RotationToken: rotationToken,
      });
    }

    // Before createSecret: the version exists, labelled, without a value.
    expect(rotation.observed.pendingRead).toBe('ResourceNotFoundException');
    const pending = rotation.observed.listed?.find((v) => v.VersionId === token);
    expect(pending?.VersionStages).toEqual(['AWSPENDING']);
    expect(pending?.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(Number(pending?.CreatedDate) - Date.now())).toBeLessThan(60_000);
    expect(rotation.observed.pendingValue).toBeUndefined();

    // After finishSecret: the new version is AWSCURRENT, the old one AWSPREVIOUS.
    const now = await current();
    expect(now.VersionId).toBe(token);
    expect(JSON.parse(now.SecretString as string)).toEqual({ password: rotation.state.values[0] });
    const described = await describeSecret();
    expect(described.VersionIdsToStages?.[initialVersion]).toEqual(['AWSPREVIOUS']);
    expect(described.RotationEnabled).toBe(true);
    expect(described.RotationLambdaARN).toBe(FUNCTION_ARN);
    expect(described.RotationRules).toMatchObject(RULES);
    expect(described.LastRotatedDate).toBeInstanceOf(Date);

    expect(sandbox.aws.rotations.at(-1)).toEqual({
      secretName: NAME,
      token,
      steps: [
        { step: 'createSecret', ok: true },
        { step: 'setSecret', ok: true },
        { step: 'testSecret', ok: true },
        { step: 'finishSecret', ok: true },
      ],
      finished: true,
    });
  });

  it('uses the configured function when none is given, with a token of its own', async () => {
    await client.send(
      new RotateSecretCommand({ SecretId: NAME, RotationLambdaARN: FUNCTION_ARN, RotateImmediately: false }),
    );
    // A raw call: the SDK would fill in a ClientRequestToken itself.
    const response = await fetch(sandbox.urls.aws, {
      method: 'POST',
      headers: {
        'x-amz-target': 'secretsmanager.RotateSecret',
        'content-type': 'application/x-amz-json-1.1',
      },
      body: JSON.stringify({ SecretId: NAME }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { VersionId: string };
    expect(rotation.events.map((e) => e.ClientRequestToken)).toEqual(Array(4).fill(answer.VersionId));
    expect((await current()).VersionId).toBe(answer.VersionId);
  });

  it('stops at a failing step, answers 200 all the same, and re-attempts the same version', async () => {
    rotation.state.failAt = 'setSecret';
    const token = randomUUID();
    const answer = await client.send(
      new RotateSecretCommand({ SecretId: NAME, ClientRequestToken: token, RotationLambdaARN: FUNCTION_ARN }),
    );
    expect(answer.VersionId).toBe(token);
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(rotation.events.map((e) => e.Step)).toEqual(['createSecret', 'setSecret']);
    const failed = {
      secretName: NAME,
      token,
      steps: [
        { step: 'createSecret', ok: true },
        { step: 'setSecret', ok: false, errorType: 'ProviderRefused' },
      ],
      finished: false,
    };
    expect(sandbox.aws.rotations.at(-1)).toEqual(failed);
    // The error's name only, never its message; on the control API too.
    expect(JSON.stringify(sandbox.aws.rotations)).not.toContain('hunter2');
    const listed = (await (await fetch(`${sandbox.urls.aws}/_sandbox/rotations`)).json()) as unknown[];
    expect(listed).toContainEqual(failed);

    expect((await current()).VersionId).toBe(initialVersion);
    const described = await describeSecret();
    expect(described.VersionIdsToStages?.[token]).toEqual(['AWSPENDING']);
    expect(described.LastRotatedDate).toBeUndefined();

    // A new rotation while that one is unfinished: the old one is re-attempted, the new refused.
    rotation.state.failAt = undefined;
    const firstRotationToken = rotation.events[0]?.RotationToken;
    rotation.events.length = 0;
    const second = randomUUID();
    expect(
      await failure(client.send(new RotateSecretCommand({ SecretId: NAME, ClientRequestToken: second }))),
    ).toEqual({
      name: 'InvalidRequestException',
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
      status: 400,
    });
    expect(rotation.events.map((e) => e.Step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    expect(new Set(rotation.events.map((e) => e.ClientRequestToken))).toEqual(new Set([token]));
    // A re-attempt gets a rotation token of its own.
    expect(rotation.events[0]?.RotationToken).toEqual(expect.any(String));
    expect(rotation.events[0]?.RotationToken).not.toBe(firstRotationToken);
    expect(sandbox.aws.rotations.at(-1)).toMatchObject({ token, finished: true });
    expect((await current()).VersionId).toBe(token);
    expect((await describeSecret()).VersionIdsToStages?.[second]).toBeUndefined();
    expect((await describeSecret()).LastRotatedDate).toBeInstanceOf(Date);
  });

  it('re-attempts a rotation that failed before createSecret filled its version', async () => {
    rotation.state.failAt = 'createSecret';
    const token = randomUUID();
    await client.send(
      new RotateSecretCommand({ SecretId: NAME, ClientRequestToken: token, RotationLambdaARN: FUNCTION_ARN }),
    );
    expect(
      await failure(client.send(new GetSecretValueCommand({ SecretId: NAME, VersionStage: 'AWSPENDING' }))),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(
      await failure(client.send(new GetSecretValueCommand({ SecretId: NAME, VersionId: token }))),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      message: `Secrets Manager can't find the specified secret value for VersionId: ${token}`,
    });
    rotation.state.failAt = undefined;
    expect(await failure(client.send(new RotateSecretCommand({ SecretId: NAME })))).toMatchObject({
      name: 'InvalidRequestException',
    });
    expect((await current()).VersionId).toBe(token);
  });

  it('RotateImmediately false only configures', async () => {
    const answer = await client.send(
      new RotateSecretCommand({
        SecretId: NAME,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: RULES,
        RotateImmediately: false,
      }),
    );
    expect(answer.VersionId).toBeUndefined();
    expect(rotation.events).toEqual([]);
    const described = await describeSecret();
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: RULES,
    });
    expect(described.LastRotatedDate).toBeUndefined();
    expect(described.VersionIdsToStages).toEqual({ [initialVersion]: ['AWSCURRENT'] });
  });

  it('refuses a function it cannot invoke, a secret without one, and an unknown secret', async () => {
    const unknown = lambdaFunctionArn('no-such-function');
    expect(
      await failure(client.send(new RotateSecretCommand({ SecretId: NAME, RotationLambdaARN: unknown }))),
    ).toEqual({
      name: 'AccessDeniedException',
      message: 'Secrets Manager cannot invoke the specified Lambda function.',
      status: 400,
    });
    expect(await failure(client.send(new RotateSecretCommand({ SecretId: NAME })))).toMatchObject({
      name: 'InvalidRequestException',
      status: 400,
    });
    expect(
      await failure(client.send(new RotateSecretCommand({ SecretId: `${NAME}-missing` }))),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const described = await describeSecret();
    expect(described.RotationEnabled).toBe(false);
    expect(described.RotationLambdaARN).toBeUndefined();
    expect(described.VersionIdsToStages).toEqual({ [initialVersion]: ['AWSCURRENT'] });
    expect(rotation.events).toEqual([]);
  });

  it('a retried request with the same token rotates once (the answer was dropped)', async () => {
    sandbox.aws.faults.add({ operation: 'secretsmanager.RotateSecret', applyThenDrop: true });
    const token = randomUUID();
    const request = () =>
      client.send(
        new RotateSecretCommand({
          SecretId: NAME,
          ClientRequestToken: token,
          RotationLambdaARN: FUNCTION_ARN,
        }),
      );
    expect(await failure(request())).toBeDefined();
    expect(rotation.events).toHaveLength(4);
    expect((await request()).VersionId).toBe(token);
    expect(rotation.events).toHaveLength(4);
    expect((await current()).VersionId).toBe(token);
  });

  it('an injected fault answers instead of the rotation', async () => {
    sandbox.aws.faults.add({
      operation: 'secretsmanager.RotateSecret',
      status: 400,
      body: { __type: 'LimitExceededException', message: 'slow down' },
    });
    expect(
      await failure(
        client.send(new RotateSecretCommand({ SecretId: NAME, RotationLambdaARN: FUNCTION_ARN })),
      ),
    ).toMatchObject({ name: 'LimitExceededException' });
    expect(rotation.events).toEqual([]);
  });
});

describe('CancelRotateSecret', () => {
  it('turns rotation off and keeps its configuration', async () => {
    await client.send(
      new RotateSecretCommand({ SecretId: NAME, RotationLambdaARN: FUNCTION_ARN, RotationRules: RULES }),
    );
    const answer = await client.send(new CancelRotateSecretCommand({ SecretId: NAME }));
    expect(answer).toMatchObject({ ARN: (await describeSecret()).ARN, Name: NAME });
    const described = await describeSecret();
    expect(described.RotationEnabled).toBe(false);
    expect(described.RotationLambdaARN).toBe(FUNCTION_ARN);
    expect(described.LastRotatedDate).toBeInstanceOf(Date);
  });
});

describe('versions', () => {
  it('ListSecretVersionIds lists labelled versions, and all of them with IncludeDeprecated', async () => {
    for (const password of ['second-password', 'third-password', 'fourth-password']) {
      await client.send(
        new PutSecretValueCommand({ SecretId: NAME, SecretString: JSON.stringify({ password }) }),
      );
    }
    const labelled = await client.send(new ListSecretVersionIdsCommand({ SecretId: NAME, MaxResults: 10 }));
    expect(labelled).toMatchObject({ ARN: (await describeSecret()).ARN, Name: NAME });
    expect(labelled.Versions?.map((v) => v.VersionStages)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    const all = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: NAME, IncludeDeprecated: true }),
    );
    expect(all.Versions).toHaveLength(4);
    expect(all.Versions?.[0]).toMatchObject({ VersionId: initialVersion, VersionStages: [] });
    expect(all.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);
  });

  it('PutSecretValue fills an empty version once; a version with a value keeps it', async () => {
    rotation.state.failAt = 'createSecret';
    const token = randomUUID();
    await client.send(
      new RotateSecretCommand({ SecretId: NAME, ClientRequestToken: token, RotationLambdaARN: FUNCTION_ARN }),
    );
    const put = (password: string) =>
      client.send(
        new PutSecretValueCommand({
          SecretId: NAME,
          ClientRequestToken: token,
          SecretString: JSON.stringify({ password }),
          VersionStages: ['AWSPENDING'],
          RotationToken: randomUUID(),
        }),
      );
    expect((await put('filled-password')).VersionStages).toEqual(['AWSPENDING']);
    expect(sandbox.aws.secretValue(NAME, 'AWSPENDING')).toEqual({ password: 'filled-password' });
    expect((await put('filled-password')).VersionId).toBe(token);
    expect(await failure(put('another-password'))).toMatchObject({ name: 'ResourceExistsException' });
    expect(sandbox.secretMaterial()).toContain('filled-password');
  });
});
