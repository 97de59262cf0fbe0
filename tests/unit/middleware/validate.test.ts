import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../lib/config.ts';
import type { ResetError } from '../../../lib/errors.ts';
import type { InvocationMode } from '../../../lib/middleware/invocation.ts';
import { validate } from '../../../lib/middleware/validate.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import { given, runChain } from '../../support/chain.ts';

const run = async (
  mode: InvocationMode,
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = { STAGE: 'test' },
) => {
  const result = await runChain(
    [given({ mode, input }), validate({ provider: ncloudCdss, config: readConfig(env) })],
    {},
  );
  if (result.error) throw result.error;
  if (!result.internal.envelope) throw new Error('validate left no envelope');
  return result.internal.envelope;
};

const rejection = async (mode: InvocationMode, input: Record<string, unknown>, env?: NodeJS.ProcessEnv) => {
  try {
    await run(mode, input, env);
  } catch (error) {
    return error as ResetError;
  }
  throw new Error('expected a rejection');
};

const valid = { region: 'KR', clusterId: '1009123' };
/** The ncloud handler's secret subtree in stage `test`. */
const ROOT = 'cluster-password-reset/test/ncloud-cdss/';
const outsideRoot = `must name a secret under "${ROOT}"`;

describe('validate', () => {
  it('applies the documented defaults', async () => {
    expect(await run('direct', valid)).toEqual({
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      storePassword: true,
      dryRun: false,
    });
  });

  it.each([
    [{ region: 'kr' }, 'region', 'must be one of KR, SGN, JPN'],
    [{ region: undefined }, 'region', 'is required'],
    [{ clusterId: '../1' }, 'clusterId', "must be the cluster's serviceGroupInstanceNo (digits only)"],
    [{ clusterId: '1%2F2' }, 'clusterId', "must be the cluster's serviceGroupInstanceNo (digits only)"],
    [{ clusterId: '12?x=1' }, 'clusterId', "must be the cluster's serviceGroupInstanceNo (digits only)"],
    [{ clusterId: '１２３' }, 'clusterId', "must be the cluster's serviceGroupInstanceNo (digits only)"],
    [{ clusterId: 123 }, 'clusterId', 'must be a string'],
    [{ account: '../other' }, 'account', 'must be 1-64 letters, digits, ".", "_" or "-"'],
    [{ dryRun: 'yes' }, 'dryRun', 'must be true or false'],
    [{ provider: 'otc-css' }, 'provider', 'must be "ncloud-cdss" for this handler'],
    [{ secretId: 'other-prefix/x' }, 'secretId', outsideRoot],
    [{ secretId: 'cluster-password-reset/test/otc-css/x' }, 'secretId', outsideRoot],
    [{ secretId: 'cluster-password-reset/test/../x' }, 'secretId', outsideRoot],
    [{ secretId: `${ROOT}../../prod/ncloud-cdss/KR/1` }, 'secretId', outsideRoot],
    // Another stage's secrets, and the names without a stage, are not this stage's to rotate.
    [{ secretId: 'cluster-password-reset/prod/ncloud-cdss/KR/1009123' }, 'secretId', outsideRoot],
    [{ secretId: 'cluster-password-reset/ncloud-cdss/KR/1009123' }, 'secretId', outsideRoot],
    [
      { idempotencyKey: 'has space' },
      'idempotencyKey',
      'must be 1-128 letters, digits, ".", "_", ":" or "-"',
    ],
    [{ projectId: '0123456789abcdef0123456789abcdef' }, 'projectId', 'is not a field of this request'],
    [{ color: 'blue' }, 'color', 'is not a field of this request'],
  ])('refuses %j', async (change, field, rule) => {
    const error = await rejection('http', { ...valid, ...change });
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.httpStatus).toBe(400);
    expect(error.fields).toContainEqual({ field, rule });
  });

  it("accepts a secretId under the stage's subtree, or under an overriding SECRET_PREFIX", async () => {
    expect((await run('http', { ...valid, secretId: `${ROOT}kafka-prod` })).secretId).toBe(
      `${ROOT}kafka-prod`,
    );
    const shortNames = { STAGE: 'prod', SECRET_PREFIX: 'cluster-password-reset' };
    const name = 'cluster-password-reset/ncloud-cdss/KR/1009123';
    expect((await run('http', { ...valid, secretId: name }, shortNames)).secretId).toBe(name);
    const error = await rejection('http', { ...valid, secretId: `${ROOT}x` }, shortNames);
    expect(error.fields).toContainEqual({
      field: 'secretId',
      rule: 'must name a secret under "cluster-password-reset/ncloud-cdss/"',
    });
  });

  it('lists every broken field at once', async () => {
    const error = await rejection('http', { region: 'XX', clusterId: 'abc', dryRun: 1 });
    expect(error.fields?.map((f) => f.field).sort()).toEqual(['clusterId', 'dryRun', 'region']);
  });

  it.each(['eventbridge', 'direct'] as const)('refuses a password in a %s input', async (mode) => {
    const error = await rejection(mode, { ...valid, password: 'Abc123!xyz' });
    expect(error.fields).toEqual([
      {
        field: 'password',
        rule: 'must not be sent in an EventBridge event or a Step Functions input (AWS keeps those in plain text); leave it out and a password is generated',
      },
    ]);
    expect(error.message).not.toContain('Abc123!xyz');
  });

  it('refuses storePassword: false without a supplied password', async () => {
    const error = await rejection('http', { ...valid, storePassword: false });
    expect(error.fields?.[0]?.field).toBe('storePassword');
  });

  it('checks a supplied password against the provider rule, without quoting it', async () => {
    const error = await rejection('http', { ...valid, password: 'short&/' });
    expect(error.code).toBe('PASSWORD_POLICY_VIOLATION');
    expect(error.fields?.map((f) => f.field)).toEqual(['password', 'password', 'password']);
    expect(JSON.stringify(error.fields) + error.message).not.toContain('short&/');
  });

  const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';
  const fromTags = {
    provider: 'ncloud-cdss',
    ...valid,
    account: 'default',
    secretId: `${ROOT}KR/1009123`,
    idempotencyKey: TOKEN,
  };

  it("accepts the fields a rotation event's secret tags give", async () => {
    expect(await run('rotation', fromTags)).toEqual({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1009123',
      account: 'default',
      secretId: `${ROOT}KR/1009123`,
      storePassword: true,
      dryRun: false,
      idempotencyKey: TOKEN,
    });
  });

  it.each([
    [{ region: 'kr' }, 'SecretId.tags.region', 'must be one of KR, SGN, JPN'],
    [
      { clusterId: 'abc' },
      'SecretId.tags.cluster-id',
      "must be the cluster's serviceGroupInstanceNo (digits only)",
    ],
    [{ account: '../other' }, 'SecretId.tags.account', 'must be 1-64 letters, digits, ".", "_" or "-"'],
    [{ secretId: 'other-prefix/x' }, 'SecretId', outsideRoot],
  ])('names a bad tag as the operator sees it in rotation mode (%j)', async (change, field, rule) => {
    const error = await rejection('rotation', { ...fromTags, ...change });
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields).toEqual([{ field, rule }]);
  });

  it('accepts a valid supplied password over HTTP', async () => {
    expect((await run('http', { ...valid, password: 'asd123!@#' })).password).toBe('asd123!@#');
  });
});
