import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
import { invocationMode } from '../../../lib/middleware/invocation.ts';
import { normalizeEvent } from '../../../lib/middleware/normalize-event.ts';
import { rotationSecret } from '../../../lib/middleware/rotation-secret.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import type { Binding, Bindings } from '../../../lib/rotation/binding.ts';
import { SecretStore } from '../../../lib/rotation/secret-store.ts';
import { runChain } from '../../support/chain.ts';
import { eventBridgeEvent, ncloudHttpEvent } from '../../support/events.ts';

const sm = mockClient(SecretsManagerClient);
const NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1009123';
const ARN = `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${NAME}-AbCdEf`;
const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';

/** The cluster's binding as the lease table holds it (lib/rotation/binding.ts); none: unbound. */
let bound: Binding | undefined;
const bindingReads: unknown[] = [];
const bindings = {
  read: async (target: unknown) => {
    bindingReads.push(target);
    return bound;
  },
} as unknown as Bindings;

const chain = [
  invocationMode(),
  normalizeEvent({ provider: 'ncloud-cdss' }),
  rotationSecret({
    provider: ncloudCdss,
    secrets: new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' })),
    bindings,
    secretPrefix: 'cluster-password-reset/test',
  }),
];

const rotationEvent = (SecretId = NAME) => ({ Step: 'createSecret', SecretId, ClientRequestToken: TOKEN });

const OWN_TAGS = [
  { Key: 'managed-by', Value: 'cluster-password-reset' },
  { Key: 'provider', Value: 'ncloud-cdss' },
  { Key: 'region', Value: 'KR' },
  { Key: 'cluster-id', Value: '1009123' },
  { Key: 'account', Value: 'prod' },
];

const secretWith = (tags = OWN_TAGS, rotationEnabled = true) =>
  sm.on(DescribeSecretCommand).resolves({
    ARN,
    Name: NAME,
    RotationEnabled: rotationEnabled,
    VersionIdsToStages: { [TOKEN]: ['AWSPENDING'] },
    Tags: tags,
  });

const rejection = async (event: unknown): Promise<ResetError> => {
  const run = await runChain(chain, event);
  if (!run.error) throw new Error('expected a validation error');
  return run.error as ResetError;
};

describe('rotation-secret', () => {
  beforeEach(() => {
    sm.reset();
    bound = { secretName: NAME, account: 'prod' };
    bindingReads.length = 0;
  });

  it("takes the cluster from the secret's name, the account from the cluster's binding, the key from the token", async () => {
    secretWith();
    const run = await runChain(chain, rotationEvent());
    expect(run.error).toBeUndefined();
    expect(run.internal.input).toEqual({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      account: 'prod',
      secretId: NAME,
      idempotencyKey: TOKEN,
    });
    expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: NAME }]);
    expect(bindingReads).toEqual([{ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123' }]);
  });

  it('names the secret by its Name when the event names it by ARN, and takes the project from the binding', async () => {
    secretWith();
    bound = { secretName: NAME, account: 'prod', projectId: '0123456789abcdef0123456789abcdef' };
    const run = await runChain(chain, rotationEvent(ARN));
    expect(sm.commandCalls(DescribeSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: ARN }]);
    expect(run.internal.input).toEqual({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      projectId: '0123456789abcdef0123456789abcdef',
      account: 'prod',
      secretId: NAME,
      idempotencyKey: TOKEN,
    });
  });

  it('ignores the tags: a secret retagged as another cluster, or another account, still names its own', async () => {
    secretWith(
      OWN_TAGS.map((tag) =>
        tag.Key === 'cluster-id'
          ? { ...tag, Value: '1009999' }
          : tag.Key === 'account'
            ? { ...tag, Value: 'evil' }
            : tag,
      ),
    );
    const run = await runChain(chain, rotationEvent());
    expect(run.internal.input).toMatchObject({ clusterId: '1009123', account: 'prod' });
  });

  it.each([
    [
      'a secret that does not exist',
      () =>
        sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} })),
      'names no secret',
    ],
    [
      'a secret no rotation has bound to its cluster (one created by someone else under the name)',
      () => {
        secretWith();
        bound = undefined;
      },
      'is not bound to its cluster: a rotation by a request (HTTP, EventBridge or Step Functions) binds it, or an operator with npm run bind',
    ],
    [
      'a secret whose cluster is bound to another secret',
      () => {
        secretWith();
        bound = { secretName: `${NAME}-other`, account: 'prod' };
      },
      'is not bound to its cluster: a rotation by a request (HTTP, EventBridge or Step Functions) binds it, or an operator with npm run bind',
    ],
    [
      'a secret created again under its name since its cluster was bound (another ARN)',
      () => {
        secretWith();
        bound = { secretName: NAME, secretArn: `${ARN}-before`, account: 'prod' };
      },
      'was created again since its cluster was bound to it; an operator unbinds the cluster (npm run bind -- --unbind) and its next rotation by a request binds it afresh',
    ],
    [
      'a secret whose name is not a cluster’s',
      () =>
        sm.on(DescribeSecretCommand).resolves({
          ARN,
          Name: 'cluster-password-reset/test/ncloud-cdss/custom',
          RotationEnabled: true,
          Tags: OWN_TAGS,
        }),
      "names no cluster's secret: a cluster's secret is named cluster-password-reset/test/{provider}/{region}/{clusterId}",
    ],
    [
      "another provider's secret",
      () =>
        sm.on(DescribeSecretCommand).resolves({
          ARN,
          Name: 'cluster-password-reset/test/otc-css/eu-de/x',
          RotationEnabled: true,
          Tags: OWN_TAGS,
        }),
      'names a secret of provider "otc-css"; this function rotates ncloud-cdss secrets only',
    ],
    ['a secret with rotation turned off', () => secretWith(OWN_TAGS, false), 'has rotation turned off'],
  ])('refuses %s, naming SecretId', async (_, setup, rule) => {
    setup();
    const error = await rejection(rotationEvent());
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields).toEqual([{ field: 'SecretId', rule }]);
  });

  it.each([
    ['direct', { region: 'KR', clusterId: '1009123', secretId: NAME }],
    ['http', ncloudHttpEvent('KR', '1009123')],
    ['eventbridge', eventBridgeEvent({ region: 'KR', clusterId: '1009123' })],
  ])('leaves a %s invocation alone, calling no AWS API', async (mode, event) => {
    secretWith();
    const without = await runChain(chain.slice(0, 2), event);
    const run = await runChain(chain, event);
    expect(run.error).toBeUndefined();
    expect(run.internal.mode).toBe(mode);
    expect(run.internal.input).toEqual(without.internal.input);
    expect(sm.calls()).toEqual([]);
    expect(bindingReads).toEqual([]);
  });
});
