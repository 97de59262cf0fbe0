import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RequestFingerprints } from '../../../lib/rotation/fingerprint.ts';

const sm = mockClient(SecretsManagerClient);
const SECRET_NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1';

describe('request fingerprints', () => {
  beforeEach(() => {
    sm.reset();
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'per-deployment-key' });
  });

  it('fingerprints a supplied password with the per-deployment key, never the password itself', async () => {
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    const request = {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      account: 'default',
      secretName: SECRET_NAME,
      storePassword: false,
    };
    const a = await fingerprints.of({ ...request, password: 'Supplied-pw-1!' });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-1!' })).toBe(a);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-2!' })).not.toBe(a);
    expect(await fingerprints.of(request)).not.toBe(a);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-1!', clusterId: '2' })).not.toBe(a);
    // The key is read once per execution environment.
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'fp-key' },
    ]);
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'another-deployment' });
    const other = new RequestFingerprints(new SecretsManagerClient({ region: 'eu-central-1' }), 'fp-key');
    expect(await other.of({ ...request, password: 'Supplied-pw-1!' })).not.toBe(a);
  });

  it('refuses to fingerprint a supplied password without the per-deployment key, or when it cannot be read', async () => {
    const request = {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      account: 'default',
      secretName: SECRET_NAME,
      storePassword: true,
      password: 'Supplied-pw-1!',
    };
    const unconfigured = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      undefined,
    );
    await expect(unconfigured.of(request)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'FINGERPRINT_KEY_SECRET is not configured; a supplied password cannot be bound to its key',
    });
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).rejects(denied);
    const unreadable = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    await expect(unreadable.of(request)).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'Secrets Manager GetSecretValue of the fingerprint key failed (AccessDeniedException)',
      cause: denied,
    });
    // A failed read is not cached: the next request tries again.
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'per-deployment-key' });
    expect(await unreadable.of(request)).toMatch(/^[0-9a-f]{64}$/);
  });

  const request = {
    provider: 'ncloud-cdss',
    region: 'KR',
    clusterId: '1',
    account: 'default',
    secretName: SECRET_NAME,
    storePassword: true,
  };

  it('gives a request the same fingerprint in every release, so a key recorded before a deploy still matches', async () => {
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    // sha256 of the JSON array [provider, region, clusterId, projectId or null, account, secretName,
    // storePassword, hex HMAC-SHA256 of the password under the key's UTF-8 bytes, or null].
    expect(await fingerprints.of({ ...request, projectId: 'p1', password: 'Supplied-pw-1!' })).toBe(
      '79f420302f0de84b9790070a484f76f648574b403218acf419f210a5995886ed',
    );
    expect(await fingerprints.of(request)).toBe(
      '977f8087fb3d5e1fc1701f9e62957a32cea1f37e5579c5b330b917acbbf9bfa5',
    );
    expect(await fingerprints.of({ ...request, projectId: 'p1' })).not.toBe(await fingerprints.of(request));
  });

  it('refuses a fingerprint key that holds no text, rather than binding passwords with an empty key', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretBinary: new Uint8Array([1, 2]) });
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    const error = await fingerprints.of({ ...request, password: 'Supplied-pw-1!' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'Secrets Manager GetSecretValue of the fingerprint key failed (Error)',
      cause: { message: 'empty fingerprint key' },
    });
  });

  it('names a failure to read the key that is not an Error "unknown error"', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).callsFake(() => Promise.reject('socket hang up'));
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    await expect(fingerprints.of({ ...request, password: 'Supplied-pw-1!' })).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'Secrets Manager GetSecretValue of the fingerprint key failed (unknown error)',
      cause: 'socket hang up',
    });
  });
});
